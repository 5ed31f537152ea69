//! The Jinja context Airflow gives a task (reference §5.1), built from typed
//! inputs. Keys deprecated in 2.x and removed in 3.x exist only under
//! [`Dialect::V2`]; in 3.x `ds`/`ts`/`logical_date` are absent when the run has
//! no logical date.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use minijinja::value::Value;

use super::accessors::{ConnObj, TaskInstanceObj, VarObj};
use super::data::TemplateData;
use super::pyobj::{PyDateTime, from_json};

/// The dialect (2.x/3.x) and data interval are the scheduler's own types.
pub use updraft_core::timetable::{DataInterval, Dialect};

/// Everything the context is derived from.
#[derive(Debug, Clone)]
pub struct ContextInputs {
    pub dag_id: String,
    pub task_id: String,
    pub run_id: String,
    pub logical_date: Option<DateTime<Utc>>,
    pub data_interval: Option<DataInterval>,
    /// Manually triggered: 2.x's `next_*`/`prev_*` then equal the logical date.
    pub external_trigger: bool,
    /// `dag_run.conf` (a JSON object, or null).
    pub conf: serde_json::Value,
    /// The DAG's and task's params; `conf` keys override them, as with
    /// `[core] dag_run_conf_overrides_params = True` (the default).
    pub params: serde_json::Value,
    pub try_number: u32,
    pub map_index: i64,
    pub dialect: Dialect,
}

/// A task's template context, ready to render with.
#[derive(Clone)]
pub struct TemplateContext {
    pub inputs: ContextInputs,
    pub data: Arc<dyn TemplateData>,
}

pub fn ds(d: &DateTime<Utc>) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn ds_nodash(d: &DateTime<Utc>) -> String {
    d.format("%Y%m%d").to_string()
}

/// `isoformat()` of an aware datetime: `2024-01-01T00:00:00+00:00`.
pub fn ts(d: &DateTime<Utc>) -> String {
    PyDateTime::aware(d.fixed_offset()).isoformat('T')
}

pub fn ts_nodash(d: &DateTime<Utc>) -> String {
    d.format("%Y%m%dT%H%M%S").to_string()
}

pub fn ts_nodash_with_tz(d: &DateTime<Utc>) -> String {
    ts(d).replace(['-', ':'], "")
}

fn dt_value(d: &DateTime<Utc>) -> Value {
    Value::from_object(PyDateTime::aware(d.fixed_offset()))
}

fn opt_dt(d: Option<&DateTime<Utc>>) -> Value {
    d.map_or(Value::from(()), dt_value)
}

/// Removes the serialized `{"__type": "param", "__var": {"value": ...}}` wrapper.
fn param_value(v: &serde_json::Value) -> serde_json::Value {
    match (v.get("__type").and_then(|t| t.as_str()), v.get("__var")) {
        (Some("param"), Some(inner)) => inner.get("value").cloned().unwrap_or_default(),
        _ => v.clone(),
    }
}

impl std::fmt::Debug for TemplateContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateContext")
            .field("inputs", &self.inputs)
            .finish()
    }
}

impl TemplateContext {
    pub fn new(inputs: ContextInputs, data: Arc<dyn TemplateData>) -> Self {
        Self { inputs, data }
    }

    /// The merged params (conf keys override params).
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        if let serde_json::Value::Object(p) = &self.inputs.params {
            out.extend(p.iter().map(|(k, v)| (k.clone(), param_value(v))));
        }
        if let serde_json::Value::Object(c) = &self.inputs.conf {
            out.extend(c.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        out
    }

    /// The context as a template value.
    pub fn to_value(&self) -> Value {
        let i = &self.inputs;
        let mut m: BTreeMap<&'static str, Value> = BTreeMap::new();
        let s = |v: &str| Value::from(v.to_string());
        let conf = if i.conf.is_null() {
            serde_json::json!({})
        } else {
            i.conf.clone()
        };
        let interval = i.data_interval;
        let (start, end) = (
            interval.as_ref().map(|d| &d.start),
            interval.as_ref().map(|d| &d.end),
        );
        m.insert("run_id", s(&i.run_id));
        m.insert("data_interval_start", opt_dt(start));
        m.insert("data_interval_end", opt_dt(end));
        let dag_run: BTreeMap<&str, Value> = [
            ("dag_id", s(&i.dag_id)),
            ("run_id", s(&i.run_id)),
            ("conf", from_json(&conf)),
            ("logical_date", opt_dt(i.logical_date.as_ref())),
            ("data_interval_start", opt_dt(start)),
            ("data_interval_end", opt_dt(end)),
            ("external_trigger", Value::from(i.external_trigger)),
        ]
        .into_iter()
        .collect();
        m.insert("dag_run", Value::from(dag_run));
        m.insert(
            "params",
            from_json(&serde_json::Value::Object(self.params())),
        );
        let dag: BTreeMap<&str, Value> = [("dag_id", s(&i.dag_id))].into_iter().collect();
        m.insert("dag", Value::from(dag));
        let task: BTreeMap<&str, Value> = [("task_id", s(&i.task_id)), ("dag_id", s(&i.dag_id))]
            .into_iter()
            .collect();
        m.insert("task", Value::from(task));
        let ti = Value::from_object(TaskInstanceObj {
            dag_id: i.dag_id.clone(),
            task_id: i.task_id.clone(),
            run_id: i.run_id.clone(),
            try_number: i.try_number,
            map_index: i.map_index,
            dialect: i.dialect,
            data: self.data.clone(),
        });
        m.insert("ti", ti.clone());
        m.insert("task_instance", ti);
        m.insert(
            "var",
            Value::from_object(VarObj {
                json: None,
                data: self.data.clone(),
            }),
        );
        m.insert("conn", Value::from_object(ConnObj(self.data.clone())));
        m.insert("macros", super::env::macros());
        m.insert("test_mode", Value::from(false));
        if let Some(ld) = &i.logical_date {
            m.insert("ds", s(&ds(ld)));
            m.insert("ds_nodash", s(&ds_nodash(ld)));
            m.insert("ts", s(&ts(ld)));
            m.insert("ts_nodash", s(&ts_nodash(ld)));
            m.insert("ts_nodash_with_tz", s(&ts_nodash_with_tz(ld)));
            m.insert("logical_date", dt_value(ld));
        }
        match (i.dialect, &i.logical_date) {
            (Dialect::V3, _) => {
                let key = format!("{}__{}__{}", i.dag_id, i.task_id, i.run_id);
                m.insert("task_instance_key_str", Value::from(key));
            }
            (Dialect::V2, ld) => {
                m.insert("try_number", Value::from(i.try_number));
                if let Some(ld) = ld {
                    self.insert_v2_dates(&mut m, ld);
                }
            }
        }
        Value::from(m)
    }

    /// 2.x's deprecated date keys. `next`/`prev` use the data interval's
    /// length, exact for fixed-interval timetables (cron and timedelta).
    fn insert_v2_dates(&self, m: &mut BTreeMap<&'static str, Value>, ld: &DateTime<Utc>) {
        let i = &self.inputs;
        let s = |v: String| Value::from(v);
        let (next, prev) = match (i.external_trigger, i.data_interval) {
            (false, Some(d)) => (d.end, *ld - (d.end - d.start)),
            _ => (*ld, *ld),
        };
        let key = format!("{}__{}__{}", i.dag_id, i.task_id, ds_nodash(ld));
        m.insert("task_instance_key_str", s(key));
        m.insert("execution_date", dt_value(ld));
        m.insert("next_execution_date", dt_value(&next));
        m.insert("prev_execution_date", dt_value(&prev));
        m.insert("next_ds", s(ds(&next)));
        m.insert("next_ds_nodash", s(ds_nodash(&next)));
        m.insert("prev_ds", s(ds(&prev)));
        m.insert("prev_ds_nodash", s(ds_nodash(&prev)));
        let (yesterday, tomorrow) = (*ld - Duration::days(1), *ld + Duration::days(1));
        m.insert("yesterday_ds", s(ds(&yesterday)));
        m.insert("yesterday_ds_nodash", s(ds_nodash(&yesterday)));
        m.insert("tomorrow_ds", s(ds(&tomorrow)));
        m.insert("tomorrow_ds_nodash", s(ds_nodash(&tomorrow)));
    }
}
