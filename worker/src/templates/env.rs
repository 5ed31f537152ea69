//! The Jinja environment Airflow sets up for a DAG: StrictUndefined, Python
//! `str()` output, the `ds`/`ts` filters, a few Python methods on dicts and
//! strings, and a `FileSystemLoader` over the template search path.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::{Rest, Value, ValueKind, from_args};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};

use super::PythonCallables;
use super::accessors::{ds_add, ds_format, make_datetime, make_timedelta};
use super::pyobj::{PyDateTime, from_json, py_str, to_json};

/// A Python function the DAG gave as a macro or filter: called through
/// `python` when the worker gave one, else an error naming it.
fn python_function(
    kind: &'static str,
    name: &str,
    python: Option<Arc<dyn PythonCallables>>,
) -> impl Fn(Rest<Value>) -> Result<Value, Error> + Send + Sync + 'static {
    let name = name.to_owned();
    move |args: Rest<Value>| -> Result<Value, Error> {
        let Some(python) = &python else {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "user-defined {kind} {name:?} is a Python function, which Updraft's \
                     native template renderer cannot call here"
                ),
            ));
        };
        let args = args.iter().map(to_json).collect();
        python
            .call(kind, &name, args)
            .map(|v| from_json(&v))
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("{kind} {name:?}: {e}")))
    }
}

/// The DAG's `user_defined_macros` as globals (the task's context wins over
/// them, as in Airflow) and its `user_defined_filters`.
fn add_user_defined(env: &mut Environment<'static>, options: &super::RenderOptions) {
    for (name, value) in &options.user_macros {
        let is_callable =
            value.get("__type").and_then(serde_json::Value::as_str) == Some("callable");
        let global = if is_callable {
            Value::from_function(python_function("macro", name, options.python.clone()))
        } else {
            from_json(value)
        };
        env.add_global(name.clone(), global);
    }
    for name in &options.user_filters {
        let call = python_function("filter", name, options.python.clone());
        env.add_filter(name.clone(), move |v: Value, args: Rest<Value>| {
            let mut all = vec![v];
            all.extend(args.iter().cloned());
            call(Rest(all))
        });
    }
}

/// `macros`: `ds_add`, `ds_format`, `datetime`, `timedelta`.
pub fn macros() -> Value {
    let m: BTreeMap<&str, Value> = [
        ("ds_add", Value::from_function(ds_add)),
        ("ds_format", Value::from_function(ds_format)),
        ("datetime", Value::from_function(make_datetime)),
        ("timedelta", Value::from_function(make_timedelta)),
    ]
    .into_iter()
    .collect();
    Value::from(m)
}

fn as_datetime(value: &Value) -> Result<PyDateTime, Error> {
    value
        .downcast_object_ref::<PyDateTime>()
        .cloned()
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "expected a datetime"))
}

fn date_filter(fmt: &'static str) -> impl Fn(Value) -> Result<Value, Error> + Send + Sync {
    move |v: Value| {
        if v.is_none() {
            return Ok(Value::from(()));
        }
        let d = as_datetime(&v)?;
        Ok(Value::from(match fmt {
            "ts" => d.isoformat('T'),
            "ts_nodash_with_tz" => d.isoformat('T').replace(['-', ':'], ""),
            other => d.strftime(other),
        }))
    }
}

/// Python methods Jinja templates commonly call on dicts and strings.
fn py_method(_: &mut State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match (value.kind(), method) {
        (ValueKind::Map, "get") => {
            let (key, default): (Value, Option<Value>) = from_args(args)?;
            match value.get_item(&key) {
                Ok(v) if !v.is_undefined() => Ok(v),
                _ => Ok(default.unwrap_or(Value::from(()))),
            }
        }
        (ValueKind::Map, "keys") => Ok(Value::from(value.try_iter()?.collect::<Vec<_>>())),
        (ValueKind::Map, "values" | "items") => {
            let mut out = Vec::new();
            for k in value.try_iter()? {
                let v = value.get_item(&k)?;
                out.push(if method == "items" {
                    Value::from(vec![k, v])
                } else {
                    v
                });
            }
            Ok(Value::from(out))
        }
        (ValueKind::String, _) => {
            let s = value.as_str().unwrap_or_default();
            let arg = |i: usize| args.get(i).and_then(|a| a.as_str()).unwrap_or_default();
            Ok(match method {
                "upper" => Value::from(s.to_uppercase()),
                "lower" => Value::from(s.to_lowercase()),
                "strip" => Value::from(s.trim()),
                "startswith" => Value::from(s.starts_with(arg(0))),
                "endswith" => Value::from(s.ends_with(arg(0))),
                "replace" => Value::from(s.replace(arg(0), arg(1))),
                "split" if args.is_empty() => {
                    Value::from(s.split_whitespace().map(Value::from).collect::<Vec<_>>())
                }
                "split" => Value::from(s.split(arg(0)).map(Value::from).collect::<Vec<_>>()),
                _ => return Err(Error::from(ErrorKind::UnknownMethod)),
            })
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// Jinja's `split_template_path`: no `..`, empty and `.` parts dropped.
fn template_path(name: &str) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for part in name.split('/') {
        match part {
            ".." => return None,
            "" | "." => {}
            p => path.push(p),
        }
    }
    Some(path)
}

/// An environment for one render; `search_path` backs `template_ext` files.
pub fn build(options: &super::RenderOptions) -> Environment<'static> {
    let search_path = &options.search_path;
    let mut env = Environment::new();
    add_user_defined(&mut env, options);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(|out, _state, value| {
        if value.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        out.write_str(&py_str(value)).map_err(Error::from)
    });
    env.set_unknown_method_callback(py_method);
    env.add_filter("ds", date_filter("%Y-%m-%d"));
    env.add_filter("ds_nodash", date_filter("%Y%m%d"));
    env.add_filter("ts", date_filter("ts"));
    env.add_filter("ts_nodash", date_filter("%Y%m%dT%H%M%S"));
    env.add_filter("ts_nodash_with_tz", date_filter("ts_nodash_with_tz"));
    let dirs = search_path.to_vec();
    env.set_loader(move |name| {
        let Some(rel) = template_path(name) else {
            return Ok(None);
        };
        for dir in &dirs {
            match std::fs::read_to_string(dir.join(&rel)) {
                Ok(src) => return Ok(Some(src)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("reading template {name}: {e}"),
                    ));
                }
            }
        }
        Ok(None)
    });
    env
}
