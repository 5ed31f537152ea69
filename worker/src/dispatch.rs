//! Which code runs a try, by the task's `operator_kind`
//! (docs/serialized-dag.md). Each operator module takes a [`TryCtx`] and
//! returns an [`Outcome`]; the worker loop owns the claim, the heartbeats and
//! the fenced final write.

use serde_json::Value as Json;
use tokio::sync::Notify;
use updraft_core::store::ti_state::{Fence, TiRow};

use crate::bash_task;
use crate::db_log::DbLogSink;
use crate::native;
use crate::outcome::Outcome;
use crate::prepare::Prepared;
use crate::python_task;
use crate::sensor;
use crate::task::{Task, TaskEnv};

/// Everything an operator may use for one try.
#[allow(missing_debug_implementations)] // holds the log sink and a Notify
pub struct TryCtx<'a> {
    pub env: &'a TaskEnv,
    pub ti: &'a TiRow,
    pub fence: Fence,
    /// The serialized DAG and the task's entry in it.
    pub task: &'a Task,
    pub prepared: &'a Prepared,
    pub sink: &'a DbLogSink,
    /// Notified when the lease is lost: stop at once.
    pub lost: &'a Notify,
}

impl TryCtx<'_> {
    /// The task's `operator_kind`.
    pub fn kind(&self) -> &str {
        self.task
            .task
            .get("operator_kind")
            .and_then(Json::as_str)
            .unwrap_or("")
    }

    /// The task is a sensor (its serialized `sensor` settings are set).
    pub fn is_sensor(&self) -> bool {
        self.task.task.get("sensor").is_some_and(|s| !s.is_null())
    }

    /// A database connection from the worker's pool, the error in words.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, String> {
        self.env
            .pool
            .acquire()
            .await
            .map_err(|e| format!("database: {e}"))
    }

    /// The task runs a Python callable (`@task`, `@task.bash`, PythonOperator…).
    pub fn has_python_callable(&self) -> bool {
        self.task.task.get("python").is_some_and(|p| !p.is_null())
    }
}

/// Runs the try's operator.
pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    match (cx.kind(), cx.has_python_callable()) {
        ("empty", _) => Outcome::success(None),
        ("bash", false) => bash_task::run(cx).await,
        // `@task.bash`: the callable makes the command (Python task runner).
        ("bash", true) => python_task::run(cx).await,
        ("python" | "branch_python" | "short_circuit", _) => python_task::run(cx).await,
        ("python_virtualenv" | "branch_python_virtualenv", _) => python_task::run(cx).await,
        ("external_python" | "branch_external_python", _) => python_task::run(cx).await,
        // User sensors (`poke` overridden) go through the sensor driver.
        ("custom", _) if !cx.is_sensor() => python_task::run(cx).await,
        // PythonSensor, `@task.sensor` and user sensors: one poke per call
        // in the Python task runner, driven like the native sensors.
        ("python_sensor", _) => sensor::drive(cx, || python_task::poke(cx)).await,
        ("custom", _) => sensor::drive(cx, || python_task::poke(cx)).await,
        ("time_sensor", _) => native::time_sensors::time_sensor(cx).await,
        ("time_delta_sensor", _) => native::time_sensors::time_delta_sensor(cx).await,
        ("date_time_sensor", _) => native::time_sensors::date_time_sensor(cx).await,
        ("day_of_week_sensor", _) => native::time_sensors::day_of_week_sensor(cx).await,
        ("file_sensor", _) => native::file_sensor::run(cx).await,
        ("bash_sensor", _) => native::bash_sensor::run(cx).await,
        ("external_task_sensor", _) => native::external_task::sensor(cx).await,
        ("external_task_marker", _) => native::external_task::marker(cx),
        ("trigger_dagrun", _) => native::trigger_dagrun::run(cx).await,
        ("latest_only", _) => native::latest_only::run(cx).await,
        ("branch_datetime", _) => native::branch_time::branch_datetime(cx).await,
        ("branch_weekday", _) => native::branch_time::branch_weekday(cx).await,
        ("kafka_produce" | "kafka_produce_to_topic", _) => native::kafka::produce::run(cx).await,
        ("kafka_consume" | "kafka_consume_from_topic", _) => native::kafka::consume::run(cx).await,
        ("kafka_await_message" | "kafka_await_message_trigger_function", _) => {
            native::kafka::await_message::run(cx).await
        }
        ("hitl" | "hitl_approval" | "hitl_branch" | "hitl_entry", _) => native::hitl::run(cx).await,
        (other, python) => {
            let what = if python {
                format!("{other} (Python)")
            } else {
                other.to_owned()
            };
            cx.sink.error(&format!(
                "operator kind {what} is not supported by this worker yet"
            ));
            Outcome::failed()
        }
    }
}
