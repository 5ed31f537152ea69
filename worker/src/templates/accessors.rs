//! Template objects that call back into [`TemplateData`]: `ti` (with
//! `xcom_pull`), `var.value` / `var.json`, `conn.<id>` and `macros`.

use std::fmt;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use minijinja::value::{Kwargs, Object, ObjectRepr, Rest, Value, from_args};
use minijinja::{Error, ErrorKind, State};

use super::context::Dialect;
use super::data::{TemplateData, XComKey};
use super::pyobj::{PyDateTime, PyTimedelta, duration_from_kwargs, from_json};

/// `ti` / `task_instance`.
pub struct TaskInstanceObj {
    pub dag_id: String,
    pub task_id: String,
    pub run_id: String,
    pub try_number: u32,
    pub map_index: i64,
    pub dialect: Dialect,
    pub data: Arc<dyn TemplateData>,
}

impl fmt::Debug for TaskInstanceObj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<TaskInstance: {}.{} {} [running]>",
            self.dag_id, self.task_id, self.run_id
        )
    }
}

impl TaskInstanceObj {
    /// Airflow's `xcom_pull` (reference §5.3), per dialect: a str task id
    /// gives one value (2.x: `default` when missing; 3.x: None); a list gives
    /// a list in `task_ids` order (2.x omits missing ones, 3.x puts None).
    fn xcom_pull(&self, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs): (Option<Value>, Kwargs) = from_args(args)?;
        let task_ids = match positional {
            Some(v) => Some(v),
            None => kwargs.get::<Option<Value>>("task_ids")?,
        };
        let dag_id = kwargs.get::<Option<String>>("dag_id")?;
        let run_id = kwargs.get::<Option<String>>("run_id")?;
        let key = kwargs.get::<Option<String>>("key")?;
        let default = kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(()));
        let _ = kwargs.get::<Option<Value>>("include_prior_dates")?;
        let _ = kwargs.get::<Option<Value>>("map_indexes")?;
        kwargs.assert_all_used()?;
        let base = XComKey {
            dag_id: dag_id.unwrap_or_else(|| self.dag_id.clone()),
            run_id: run_id.unwrap_or_else(|| self.run_id.clone()),
            task_id: String::new(),
            key: key.unwrap_or_else(|| "return_value".into()),
        };
        let fetch = |task_id: &str| {
            self.data.xcom(&XComKey {
                task_id: task_id.to_string(),
                ..base.clone()
            })
        };
        let v3 = self.dialect == Dialect::V3;
        let task_ids = match task_ids.filter(|v| !v.is_none()) {
            Some(t) => t,
            // 3.x: None means the calling task; 2.x: any task (not supported
            // by the data trait), treated as not found.
            None if v3 => Value::from(self.task_id.clone()),
            None => return Ok(default),
        };
        if let Some(one) = task_ids.as_str() {
            return Ok(match fetch(one) {
                Some(v) => from_json(&v),
                None if v3 => Value::from(()),
                None => default,
            });
        }
        let mut out = Vec::new();
        for t in task_ids.try_iter()? {
            let id = t.as_str().ok_or_else(|| {
                Error::new(ErrorKind::InvalidOperation, "task_ids must be strings")
            })?;
            match fetch(id) {
                Some(v) => out.push(from_json(&v)),
                None if v3 => out.push(Value::from(())),
                None => {}
            }
        }
        Ok(Value::from(out))
    }
}

impl Object for TaskInstanceObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "dag_id" => Value::from(self.dag_id.clone()),
            "task_id" => Value::from(self.task_id.clone()),
            "run_id" => Value::from(self.run_id.clone()),
            "try_number" => Value::from(self.try_number),
            "map_index" => Value::from(self.map_index),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "xcom_pull" => self.xcom_pull(args),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// `var` (holding `value` and `json`) and each of them.
#[derive(Clone)]
pub struct VarObj {
    /// None for the top-level `var`; Some(json?) for `var.value` / `var.json`.
    pub json: Option<bool>,
    pub data: Arc<dyn TemplateData>,
}

impl fmt::Debug for VarObj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<VariableAccessor>")
    }
}

impl VarObj {
    fn lookup(&self, json: bool, key: &str) -> Result<Option<Value>, Error> {
        let Some(raw) = self.data.variable(key) else {
            return Ok(None);
        };
        if !json {
            return Ok(Some(Value::from(raw)));
        }
        let parsed: serde_json::Value = serde_json::from_str(&raw).map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("variable {key:?}: {e}"),
            )
        })?;
        Ok(Some(from_json(&parsed)))
    }
}

impl Object for VarObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        match self.json {
            None => match key {
                "value" | "json" => Some(Value::from_object(VarObj {
                    json: Some(key == "json"),
                    data: self.data.clone(),
                })),
                _ => None,
            },
            // A missing variable is undefined: an error under StrictUndefined
            // (Airflow raises KeyError "Variable X does not exist").
            Some(json) => self.lookup(json, key).ok().flatten(),
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match (self.json, method) {
            (Some(json), "get") => {
                let (key, default): (String, Option<Value>) = from_args(args)?;
                match self.lookup(json, &key)? {
                    Some(v) => Ok(v),
                    None => default.ok_or_else(|| missing("Variable", &key)),
                }
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

fn missing(what: &str, key: &str) -> Error {
    Error::new(
        ErrorKind::UndefinedError,
        format!("{what} {key} does not exist"),
    )
}

/// `conn`: `{{ conn.my_id.host }}`, `{{ conn.get('my_id') }}`.
pub struct ConnObj(pub Arc<dyn TemplateData>);

impl fmt::Debug for ConnObj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<ConnectionAccessor>")
    }
}

impl ConnObj {
    fn conn(&self, id: &str) -> Option<Value> {
        let c = self.0.connection(id)?;
        let extra = if c.extra.is_null() {
            serde_json::json!({})
        } else {
            c.extra.clone()
        };
        let fields = serde_json::json!({
            "conn_id": id, "conn_type": c.conn_type, "host": c.host, "login": c.login,
            "password": c.password, "port": c.port, "schema": c.schema,
            "extra_dejson": extra, "extra": extra.to_string(),
        });
        Some(from_json(&fields))
    }
}

impl Object for ConnObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.conn(key.as_str()?)
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "get" => {
                let (id, default): (String, Option<Value>) = from_args(args)?;
                match self.conn(&id) {
                    Some(v) => Ok(v),
                    None => default.ok_or_else(|| missing("Connection", &id)),
                }
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// `macros.ds_add(ds, days)`.
pub fn ds_add(ds: String, days: i64) -> Result<String, Error> {
    let d = NaiveDate::parse_from_str(&ds, "%Y-%m-%d").map_err(|e| bad_arg(&ds, e))?;
    let shifted = d
        .checked_add_signed(chrono::Duration::days(days))
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "date out of range"))?;
    Ok(shifted.format("%Y-%m-%d").to_string())
}

/// `macros.ds_format(ds, input_format, output_format)` (Python strftime codes).
pub fn ds_format(ds: String, input: String, output: String) -> Result<String, Error> {
    let parsed = NaiveDateTime::parse_from_str(&ds, &input)
        .or_else(|_| NaiveDate::parse_from_str(&ds, &input).map(|d| d.and_time(NaiveTime::MIN)))
        .map_err(|e| bad_arg(&ds, e))?;
    Ok(parsed.format(&output).to_string())
}

fn bad_arg(value: &str, e: impl fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("time data {value:?} does not match format: {e}"),
    )
}

/// `macros.datetime(y, m, d[, H, M, S])` → a naive Python datetime.
pub fn make_datetime(args: Rest<i64>) -> Result<Value, Error> {
    let at = |i: usize| args.get(i).copied().unwrap_or(0);
    let as_u32 = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    let date = NaiveDate::from_ymd_opt(at(0) as i32, as_u32(at(1)), as_u32(at(2)));
    let naive = date
        .and_then(|d| d.and_hms_opt(as_u32(at(3)), as_u32(at(4)), as_u32(at(5))))
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "invalid datetime arguments"))?;
    Ok(Value::from_object(PyDateTime {
        naive,
        offset: None,
    }))
}

/// `macros.timedelta(days=1, hours=2, ...)`.
pub fn make_timedelta(kwargs: Kwargs) -> Result<Value, Error> {
    Ok(Value::from_object(PyTimedelta(duration_from_kwargs(
        &kwargs,
    )?)))
}
