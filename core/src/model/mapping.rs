//! Dynamic task mapping as pure functions over a serialized task's `mapped`
//! block (docs/serialized-dag.md): which upstream XComs an expansion needs,
//! how many task instances it makes (`map_index` 0..n-1), and the argument
//! values of one of them. The scheduler expands, the worker resolves its
//! element; both read the XComs and pass them in.

use serde_json::{Map, Value};

/// Airflow's `[core] max_map_length`.
pub const MAX_MAP_LENGTH: usize = 1024;

/// A task's `mapped` block.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpandInput {
    /// `.expand(k=…, …)`: one task instance per combination (cross product).
    Dict(Vec<(String, Value)>),
    /// `.expand_kwargs(list_of_dicts | XComArg)`: one per dict.
    Kwargs(Value),
}

/// An expansion with every XComArg replaced by its value.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Dict(Vec<(String, Vec<Value>)>),
    Kwargs(Vec<Map<String, Value>>),
}

/// An upstream XCom an expansion reads: `(task_id, key)`.
pub type XComNeed = (String, String);

fn tag(v: &Value) -> Option<(&str, &Value)> {
    let m = v.as_object()?;
    Some((m.get("__type")?.as_str()?, m.get("__var")?))
}

fn xcomarg(v: &Value) -> Option<XComNeed> {
    match tag(v)? {
        ("xcomarg", arg) => Some((
            arg.get("task_id")?.as_str()?.to_owned(),
            arg.get("key")
                .and_then(Value::as_str)
                .unwrap_or("return_value")
                .to_owned(),
        )),
        _ => None,
    }
}

/// A value's elements as `.expand` iterates it: a list (or tuple/set) item
/// by item, a dict as `[key, value]` pairs.
fn elements(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(items) => Ok(items.clone()),
        Value::Object(m) => match tag(v) {
            Some(("tuple" | "set", Value::Array(items))) => Ok(items.clone()),
            Some((t, _)) => Err(format!("cannot map over a value of type {t}")),
            None => Ok(m
                .iter()
                .map(|(k, v)| Value::Array(vec![Value::String(k.clone()), v.clone()]))
                .collect()),
        },
        other => Err(format!(
            "cannot map over {other}: expand needs a list or a dict"
        )),
    }
}

impl ExpandInput {
    /// The `mapped` block of a serialized task (`None`: not mapped).
    pub fn from_task(task: &Value) -> Option<Self> {
        task.get("mapped").and_then(Self::from_block)
    }

    /// A `mapped` block itself (`None` for `null`).
    pub fn from_block(mapped: &Value) -> Option<Self> {
        if mapped.is_null() {
            return None;
        }
        if let Some(Value::Object(kw)) = mapped.get("expand") {
            return Some(Self::Dict(
                kw.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ));
        }
        mapped
            .get("expand_kwargs")
            .filter(|v| !v.is_null())
            .map(|v| Self::Kwargs(v.clone()))
    }

    /// The upstream XComs the expansion reads.
    pub fn needs(&self) -> Vec<XComNeed> {
        match self {
            Self::Dict(kw) => kw.iter().filter_map(|(_, v)| xcomarg(v)).collect(),
            Self::Kwargs(v) => xcomarg(v).into_iter().collect(),
        }
    }

    /// Replaces XComArgs with their values (`lookup` answers `None` when the
    /// upstream pushed nothing: Airflow's error, as then there is nothing
    /// to map over).
    pub fn resolve(&self, lookup: impl Fn(&XComNeed) -> Option<Value>) -> Result<Resolved, String> {
        let value = |v: &Value| -> Result<Value, String> {
            match xcomarg(v) {
                Some(need) => lookup(&need).ok_or_else(|| {
                    format!("task {:?} pushed no XCom {:?} to map over", need.0, need.1)
                }),
                None => Ok(v.clone()),
            }
        };
        match self {
            Self::Dict(kw) => kw
                .iter()
                .map(|(k, v)| Ok((k.clone(), elements(&value(v)?)?)))
                .collect::<Result<_, String>>()
                .map(Resolved::Dict),
            Self::Kwargs(v) => elements(&value(v)?)?
                .into_iter()
                .map(|item| match item {
                    Value::Object(m) if tag(&Value::Object(m.clone())).is_none() => Ok(m),
                    other => Err(format!(
                        "expand_kwargs needs a list of dicts, got an item {other}"
                    )),
                })
                .collect::<Result<_, String>>()
                .map(Resolved::Kwargs),
        }
    }
}

impl Resolved {
    /// How many task instances the expansion makes (the product of the
    /// lengths for `.expand` with several arguments).
    pub fn len(&self) -> usize {
        match self {
            Self::Dict(kw) => kw
                .iter()
                .map(|(_, v)| v.len())
                .fold(1usize, usize::saturating_mul),
            Self::Kwargs(items) => items.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The arguments of task instance `map_index`: as Airflow, the last
    /// expanded argument varies fastest.
    pub fn element(&self, map_index: usize) -> Option<Map<String, Value>> {
        if map_index >= self.len() {
            return None;
        }
        match self {
            Self::Kwargs(items) => items.get(map_index).cloned(),
            Self::Dict(kw) => {
                let mut out = Map::new();
                let mut rest = map_index;
                for (k, values) in kw.iter().rev() {
                    let n = values.len().max(1);
                    out.insert(k.clone(), values.get(rest % n).cloned().unwrap_or_default());
                    rest /= n;
                }
                Some(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn xcom(task: &str) -> Value {
        json!({"__type": "xcomarg", "__var": {"task_id": task, "key": "return_value"}})
    }

    #[test]
    fn literal_lists_expand_as_a_cross_product() {
        let task = json!({"mapped": {"expand": {"a": [1, 2], "b": ["x", "y", "z"]}, "expand_kwargs": null}});
        let input = ExpandInput::from_task(&task).expect("mapped");
        assert!(input.needs().is_empty());
        let r = input.resolve(|_| None).expect("resolved");
        assert_eq!(r.len(), 6);
        assert_eq!(r.element(0), json!({"a": 1, "b": "x"}).as_object().cloned());
        assert_eq!(r.element(1), json!({"a": 1, "b": "y"}).as_object().cloned());
        assert_eq!(r.element(5), json!({"a": 2, "b": "z"}).as_object().cloned());
        assert_eq!(r.element(6), None);
    }

    #[test]
    fn xcom_values_and_dicts() {
        let task = json!({"mapped": {"expand": {"path": xcom("list")}, "expand_kwargs": null}});
        let input = ExpandInput::from_task(&task).expect("mapped");
        assert_eq!(
            input.needs(),
            vec![("list".to_owned(), "return_value".to_owned())]
        );
        let r = input
            .resolve(|_| Some(json!({"k": 1, "j": 2})))
            .expect("resolved");
        assert_eq!(r.len(), 2);
        assert_eq!(r.element(0), json!({"path": ["j", 2]}).as_object().cloned());
        let missing = input.resolve(|_| None).expect_err("nothing pushed");
        assert!(missing.contains("list"), "{missing}");
        let scalar = input.resolve(|_| Some(json!(3))).expect_err("not a list");
        assert!(scalar.contains("list or a dict"), "{scalar}");
        let empty = input.resolve(|_| Some(json!([]))).expect("resolved");
        assert!(empty.is_empty());
    }

    #[test]
    fn expand_kwargs_literal_and_from_xcom() {
        let lit = json!({"mapped": {"expand": null, "expand_kwargs": [{"op_args": [1]}, {"op_args": [2]}]}});
        let r = ExpandInput::from_task(&lit)
            .expect("mapped")
            .resolve(|_| None)
            .expect("ok");
        assert_eq!(r.len(), 2);
        assert_eq!(r.element(1), json!({"op_args": [2]}).as_object().cloned());
        let from = json!({"mapped": {"expand": null, "expand_kwargs": xcom("jobs")}});
        let input = ExpandInput::from_task(&from).expect("mapped");
        let bad = input
            .resolve(|_| Some(json!([1])))
            .expect_err("items must be dicts");
        assert!(bad.contains("list of dicts"), "{bad}");
        assert_eq!(ExpandInput::from_task(&json!({"mapped": null})), None);
    }
}
