//! Reading a serialized task (docs/serialized-dag.md) for running it.

use serde_json::{Map, Value as Json};

/// Airflow's default `retry_delay` (300 s), when the task does not say.
pub const DEFAULT_RETRY_DELAY: f64 = 300.0;
/// Airflow's default `max_retry_delay` cap for exponential backoff (24 h).
const MAX_BACKOFF: f64 = 86_400.0;

/// Airflow's `retry_delay`, doubled per try with `retry_exponential_backoff`
/// (capped by `max_retry_delay`, without Airflow's jitter).
pub fn retry_delay(task: &Json, try_number: i32) -> f64 {
    let base = task
        .get("retry_delay")
        .and_then(Json::as_f64)
        .unwrap_or(DEFAULT_RETRY_DELAY);
    if !task
        .get("retry_exponential_backoff")
        .and_then(Json::as_bool)
        .unwrap_or(false)
    {
        return base;
    }
    let cap = task
        .get("max_retry_delay")
        .and_then(Json::as_f64)
        .unwrap_or(MAX_BACKOFF);
    let factor = 2f64.powi(try_number.saturating_sub(1).clamp(0, 30));
    (base * factor).min(cap)
}

/// The DAG's params overlaid with the task's, each reduced to its value.
pub fn params(dag: &Json, task: &Json) -> Json {
    let mut out = Map::new();
    for source in [dag.get("params"), task.get("params")] {
        if let Some(Json::Object(m)) = source {
            for (k, v) in m {
                let value = match v {
                    Json::Object(p) if p.contains_key("value") && p.contains_key("schema") => {
                        p.get("value").cloned().unwrap_or_default()
                    }
                    other => other.clone(),
                };
                out.insert(k.clone(), value);
            }
        }
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // Plain delays stay fixed; exponential ones double per try up to the cap.
    #[test]
    fn retry_delays() {
        assert_eq!(retry_delay(&json!({"retry_delay": 10.0}), 3), 10.0);
        assert_eq!(retry_delay(&json!({}), 1), DEFAULT_RETRY_DELAY);
        let exp = json!({"retry_delay": 10.0, "retry_exponential_backoff": true, "max_retry_delay": 50.0});
        assert_eq!(retry_delay(&exp, 1), 10.0);
        assert_eq!(retry_delay(&exp, 2), 20.0);
        assert_eq!(retry_delay(&exp, 4), 50.0);
    }

    // Serialized Param entries reduce to their values; task params win.
    #[test]
    fn params_merge_dag_then_task() {
        let dag = json!({"params": {"x": {"value": 1, "description": null, "schema": {}},
                                    "y": {"value": "d", "description": null, "schema": {}}}});
        let task = json!({"params": {"y": {"value": "t", "description": null, "schema": {}}}});
        assert_eq!(params(&dag, &task), json!({"x": 1, "y": "t"}));
    }
}
