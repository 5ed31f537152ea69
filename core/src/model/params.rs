//! DAG params (`Param`s as the parse child serializes them:
//! `{"value", "description", "schema"}`) and their checks: the JSON-schema
//! keywords Updraft's `Param.resolve` checks (`type`, `enum`,
//! `minimum`/`maximum`, `minLength`/`maxLength`, `pattern`), with the same
//! messages.

use serde_json::{Map, Value};

/// One DAG param.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    /// The default (`null` when the Param has none).
    pub value: Value,
    pub description: Option<String>,
    pub schema: Map<String, Value>,
}

impl ParamSpec {
    /// The schema's `type`s (empty: any).
    pub fn types(&self) -> Vec<&str> {
        match self.schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The schema's `enum`, if any.
    pub fn options(&self) -> Option<&Vec<Value>> {
        self.schema.get("enum").and_then(Value::as_array)
    }

    /// Checks `value` against the schema: `Err` holds the message.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        check_schema(value, &self.schema)
    }
}

/// The params of a serialized DAG (`params` key), in the DAG's order.
/// A plain value (not a serialized Param) is a Param with an empty schema.
pub fn dag_params(serialized_dag: &Value) -> Vec<ParamSpec> {
    let Some(Value::Object(params)) = serialized_dag.get("params") else {
        return Vec::new();
    };
    params
        .iter()
        .map(|(name, p)| match p {
            Value::Object(m) if m.contains_key("value") && m.contains_key("schema") => ParamSpec {
                name: name.clone(),
                value: m.get("value").cloned().unwrap_or(Value::Null),
                description: m
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                schema: m
                    .get("schema")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            },
            other => ParamSpec {
                name: name.clone(),
                value: other.clone(),
                description: None,
                schema: Map::new(),
            },
        })
        .collect()
}

fn is_type(value: &Value, t: &str) -> bool {
    match t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// Python's `repr` of a JSON value, for messages as Airflow words them.
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => format!("'{s}'"),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// `value` against `schema`; `Err` is the first failure's message.
pub fn check_schema(value: &Value, schema: &Map<String, Value>) -> Result<(), String> {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| is_type(value, t)) {
        let names: Vec<String> = types.iter().map(|t| format!("'{t}'")).collect();
        return Err(format!(
            "{} is not of type {}",
            py_repr(value),
            names.join(" or ")
        ));
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.contains(value)
    {
        return Err(format!(
            "{} is not one of {}",
            py_repr(value),
            py_repr(&Value::Array(options.clone()))
        ));
    }
    if let Some(n) = value.as_f64().filter(|_| value.is_number()) {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            return Err(format!(
                "{value} is less than the minimum of {}",
                schema["minimum"]
            ));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            return Err(format!(
                "{value} is greater than the maximum of {}",
                schema["maximum"]
            ));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            return Err(format!("{} is too short", py_repr(value)));
        }
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            return Err(format!("{} is too long", py_repr(value)));
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
            let re = regex::Regex::new(p).map_err(|e| format!("bad pattern {p:?}: {e}"))?;
            if !re.is_match(s) {
                return Err(format!("{} does not match '{p}'", py_repr(value)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    // Invariant: each keyword refuses what Param.resolve refuses, with its words.
    #[test]
    fn keywords_as_param_resolve() {
        let cases: &[(Value, Value, Option<&str>)] = &[
            (json!({"type": "integer"}), json!(3), None),
            (
                json!({"type": "integer"}),
                json!(3.5),
                Some("3.5 is not of type 'integer'"),
            ),
            (
                json!({"type": "integer"}),
                json!(true),
                Some("True is not of type 'integer'"),
            ),
            (
                json!({"type": "string"}),
                Value::Null,
                Some("None is not of type 'string'"),
            ),
            (json!({"type": ["string", "null"]}), Value::Null, None),
            (
                json!({"enum": ["a", "b"]}),
                json!("c"),
                Some("'c' is not one of ['a', 'b']"),
            ),
            (
                json!({"minimum": 2}),
                json!(1),
                Some("1 is less than the minimum of 2"),
            ),
            (
                json!({"maximum": 2}),
                json!(3),
                Some("3 is greater than the maximum of 2"),
            ),
            (
                json!({"minLength": 2}),
                json!("a"),
                Some("'a' is too short"),
            ),
            (
                json!({"maxLength": 2}),
                json!("abc"),
                Some("'abc' is too long"),
            ),
            (
                json!({"pattern": "^x"}),
                json!("yx"),
                Some("'yx' does not match '^x'"),
            ),
            (json!({"pattern": "x"}), json!("yx"), None),
            (json!({}), json!({"any": 1}), None),
        ];
        for (s, v, want) in cases {
            let got = check_schema(v, &schema(s.clone())).err();
            assert_eq!(got.as_deref(), *want, "{s} {v}");
        }
    }

    #[test]
    fn reads_serialized_and_plain_params() {
        let dag = json!({"params": {
            "n": {"value": 5, "description": "how many", "schema": {"type": "integer"}},
            "plain": "x"
        }});
        let ps = dag_params(&dag);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].name, "n");
        assert_eq!(ps[0].types(), ["integer"]);
        assert_eq!(ps[0].description.as_deref(), Some("how many"));
        assert_eq!(ps[1].value, json!("x"));
        assert!(ps[1].schema.is_empty());
        assert!(dag_params(&json!({})).is_empty());
    }
}
