//! The JSON lines spoken with `updraft __task-runner`
//! (python/airflow_compat/updraft_runtime/task_runner.py): one request per
//! task, then log lines, secrets to mask and one result, tagged by id. A
//! [`Mode::Kafka`] request starts a session job: `feed` lines go to the task
//! while it runs and its `data` lines come back (see [`super::session`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// What the runner needs to run one task (or one sensor poke).
#[derive(Debug, Clone, Serialize)]
pub struct TaskRequest {
    /// The DAG file; the child imports it and finds the task itself.
    pub fileloc: String,
    pub dag_id: String,
    pub task_id: String,
    pub run_id: String,
    /// The task's `operator_kind` (`bash` for `@task.bash`: run the callable only).
    pub kind: String,
    pub mode: Mode,
    pub context: ContextData,
    /// Rendered template fields, tagged-encoded (docs/serialized-dag.md).
    pub rendered: Map<String, Json>,
    /// The run's XComs, for `ti.xcom_pull`.
    pub xcoms: Vec<XComRow>,
    pub variables: Map<String, Json>,
    pub connections: Map<String, Json>,
    /// A mapped task's element kwargs (merged over `op_kwargs`, or set as
    /// attributes of a classic operator).
    pub expand_input: Option<Json>,
    /// `execution_timeout` in seconds: the runner kills the task after it.
    pub timeout: Option<f64>,
    /// With [`Mode::Call`]: the user-defined macro or filter to call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<CallSpec>,
}

/// One call of a DAG's `user_defined_macros` / `user_defined_filters`
/// function (the native renderer cannot run Python itself).
#[derive(Debug, Clone, Serialize)]
pub struct CallSpec {
    /// `macro` or `filter`.
    pub kind: &'static str,
    pub name: String,
    /// Tagged-encoded arguments (a filter's value first).
    pub args: Vec<Json>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Execute,
    Poke,
    /// Call a user-defined macro or filter ([`TaskRequest::call`]).
    Call,
    /// A Kafka task's Python side: a session job that exchanges data lines
    /// with the worker while it runs (updraft_runtime/task_runner_kafka.py).
    Kafka,
}

/// The context's inputs (the child builds Airflow's context dict from them).
#[derive(Debug, Clone, Serialize)]
pub struct ContextData {
    pub logical_date: Option<String>,
    pub data_interval_start: Option<String>,
    pub data_interval_end: Option<String>,
    pub conf: Json,
    pub params: Json,
    pub try_number: u32,
    pub map_index: i64,
    pub dialect: &'static str,
    pub run_type: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct XComRow {
    pub task_id: String,
    pub key: String,
    pub value: Json,
}

#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command<'a> {
    Run {
        id: u64,
        task: &'a TaskRequest,
    },
    Cancel {
        id: u64,
    },
    /// One JSON document for a session job's input (ignored once it ended).
    Feed {
        id: u64,
        data: &'a Json,
    },
}

/// One line from the runner.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub id: u64,
    #[serde(default)]
    pub log: Option<String>,
    #[serde(default)]
    pub mask: Option<String>,
    #[serde(default)]
    pub result: Option<TaskResult>,
    /// A session job's data line (`null` included, hence not plain `Option`).
    #[serde(default, deserialize_with = "present")]
    pub data: Option<Json>,
}

/// A field that is present, whatever its value (`null` becomes `Some(Null)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultState {
    Success,
    Skipped,
    Failed,
    FailedNoRetry,
}

/// How the Python side ended (task_runner_child.py's result).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskResult {
    pub state: ResultState,
    #[serde(default)]
    pub message: String,
    /// `(key, value)` pushes, `return_value` and multiple outputs included.
    #[serde(default)]
    pub xcoms: Vec<(String, Json)>,
    /// The callable's (or `execute`'s) return value, tagged-encoded.
    #[serde(default)]
    pub returned: Json,
    /// Python truthiness of the return value (ShortCircuit's condition).
    #[serde(default)]
    pub truthy: bool,
    #[serde(default)]
    pub poke: Option<PokeResult>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PokeResult {
    pub done: bool,
    #[serde(default)]
    pub xcom: Json,
}

impl TaskResult {
    /// A failure found on the worker's side of the pipe.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            state: ResultState::Failed,
            message: message.into(),
            xcoms: Vec::new(),
            returned: Json::Null,
            truthy: false,
            poke: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // The runner's result line decodes, tuples of pushes included.
    #[test]
    fn result_lines_decode() {
        let line = json!({"id": 3, "result": {"state": "failed_no_retry", "message": "m",
            "xcoms": [["k", 1]], "returned": null, "truthy": false, "poke": {"done": true, "xcom": 2}}});
        let m: Message = serde_json::from_value(line).expect("message");
        let r = m.result.expect("result");
        assert_eq!(r.state, ResultState::FailedNoRetry);
        assert_eq!(r.xcoms, vec![("k".to_owned(), json!(1))]);
        assert_eq!(r.poke.map(|p| (p.done, p.xcom)), Some((true, json!(2))));
    }

    // Commands carry their op tag, as task_runner.py reads them.
    #[test]
    fn cancel_command_shape() {
        let c = serde_json::to_value(Command::Cancel { id: 9 }).expect("json");
        assert_eq!(c, json!({"op": "cancel", "id": 9}));
        let data = json!({"ack": 3});
        let f = serde_json::to_value(Command::Feed { id: 2, data: &data }).expect("json");
        assert_eq!(f, json!({"op": "feed", "id": 2, "data": {"ack": 3}}));
        assert_eq!(
            serde_json::to_value(Mode::Kafka).expect("json"),
            json!("kafka")
        );
    }

    // A data line keeps its document, even `null`; other lines have none.
    #[test]
    fn data_lines_decode() {
        let m: Message = serde_json::from_str(r#"{"id": 1, "data": {"done": 2}}"#).expect("data");
        assert_eq!(m.data, Some(json!({"done": 2})));
        let m: Message = serde_json::from_str(r#"{"id": 1, "data": null}"#).expect("null");
        assert_eq!(m.data, Some(Json::Null));
        let m: Message = serde_json::from_str(r#"{"id": 1, "log": "x"}"#).expect("log");
        assert_eq!(m.data, None);
    }
}
