//! One claimed try, from claim to fenced final write: load the serialized
//! task, build the template context, render and store its template fields,
//! run its operator while heartbeating the lease and streaming the log, then
//! end the try (with its `return_value` XCom) in one transaction.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value as Json;
use sqlx::PgPool;
use tokio::sync::Notify;
use updraft_core::observe::{self, trace::TryIdentity, trace::TrySpan};
use updraft_core::store::ti_state::{self, Fence, TiRow, Transition};
use uuid::Uuid;

use crate::db_log::DbLogSink;
use crate::dispatch::{self, TryCtx};
use crate::native::hitl_notify::NotifySettings;
use crate::outcome::{self, Outcome};
use crate::prepare::{PrepareError, Prepared, prepare};
use crate::serialized::{DEFAULT_RETRY_DELAY, retry_delay};

/// What every try of one worker shares.
#[derive(Debug, Clone)]
pub struct TaskEnv {
    pub pool: PgPool,
    pub worker_id: Uuid,
    pub lease: Duration,
    /// Where HITL requests and answers are announced.
    pub hitl: Arc<NotifySettings>,
}

/// Runs one claimed try to its final state. Failures are the task's and are
/// logged to its log; nothing here aborts the worker.
#[tracing::instrument(skip_all, fields(dag_id = %ti.dag_id, run_id = %ti.run_id, task_id = %ti.task_id, try_number = ti.try_number))]
pub async fn execute(env: TaskEnv, ti: TiRow) {
    let Some(fence) = ti.fence() else {
        tracing::warn!("claimed task instance has no worker; skipping it");
        return;
    };
    let (sink, writer) = DbLogSink::start(env.pool.clone(), ti.id, ti.try_number);
    sink.info(&format!(
        "Executing <Task({}.{})> try {} of {} on worker {}",
        ti.dag_id,
        ti.task_id,
        ti.try_number,
        ti.max_tries + 1,
        env.worker_id
    ));
    let lost = Arc::new(Notify::new());
    let beat = tokio::spawn(heartbeat_loop(env.clone(), fence, Arc::clone(&lost)));
    observe::metrics::ti_started(&ti.dag_id, &ti.task_id);
    // The span opens once the task (and its operator) is loaded, dated from
    // the start of that loading.
    let preparing = SystemTime::now();
    let (task, outcome, span) = match load_and_prepare(&env, &ti, fence).await {
        Ok((task, prepared)) => {
            let span = start_span(&ti, Some(&task), preparing);
            span.phase_since("prepare", preparing).end(None);
            let phase = span.phase("execute");
            let outcome = run(&ti, fence, &task, &prepared, &sink, &lost, &env).await;
            phase.end(None);
            (Some(task), outcome, span)
        }
        Err(msg) => {
            let span = start_span(&ti, None, preparing);
            span.phase_since("prepare", preparing).end(Some(&msg));
            sink.error(&msg);
            (None, Outcome::failed(), span)
        }
    };
    beat.abort();
    let retry = task
        .as_ref()
        .map_or(DEFAULT_RETRY_DELAY, |t| retry_delay(&t.task, ti.try_number));
    let storing = span.phase("store");
    let written = finish_retrying(&env, &ti, fence, &outcome, retry).await;
    storing.end(
        written
            .as_ref()
            .err()
            .map(|_| "writing the final state failed"),
    );
    let line = match &written {
        Ok(Transition::Applied(row)) => format!(
            "Marking task as {}. dag_id={}, task_id={}, run_id={}",
            row.state
                .map_or("NONE".to_owned(), |s| s.as_str().to_uppercase()),
            ti.dag_id,
            ti.task_id,
            ti.run_id
        ),
        Ok(other) => format!(
            "The final state was not written: this try no longer owns the task instance ({other:?})"
        ),
        Err(e) => format!("Writing the final state failed: {e}"),
    };
    sink.info(&line);
    let final_state = match &written {
        Ok(Transition::Applied(row)) => row.state.map_or("none", |s| s.as_str()),
        _ => "not_written",
    };
    if let Ok(Transition::Applied(_)) = &written {
        observe::metrics::ti_finished(&ti.dag_id, &ti.task_id, final_state);
    }
    span.end(final_state);
    if let (Some(after), Ok(Transition::Applied(_))) = (&outcome.after_store, &written) {
        crate::failpoint::hit("stored_before_after_store");
        match after.run().await {
            Ok(done) => sink.info(&done),
            Err(e) => sink.error(&e),
        }
    }
    drop(sink);
    writer.close().await;
}

/// The try's span, with the task's operator class when it was loaded.
fn start_span(ti: &TiRow, task: Option<&Task>, started: SystemTime) -> TrySpan {
    let operator = task
        .and_then(|t| {
            t.task
                .get("task_type")
                .or_else(|| t.task.get("operator_kind"))
        })
        .and_then(Json::as_str)
        .unwrap_or("");
    TrySpan::start(
        &TryIdentity {
            dag_id: &ti.dag_id,
            run_id: &ti.run_id,
            task_id: &ti.task_id,
            map_index: ti.map_index,
            try_number: ti.try_number,
            operator,
        },
        started,
    )
}

/// The final write, retried while the database is unreachable (restarting):
/// the try has ended and its result must not be lost to a dropped
/// connection. Given up after one lease, when the scheduler may reap the try.
/// A write that did commit but whose answer was lost is refused on retry
/// (the try no longer owns the row), never applied twice.
async fn finish_retrying(
    env: &TaskEnv,
    ti: &TiRow,
    fence: Fence,
    outcome: &Outcome,
    retry: f64,
) -> updraft_core::Result<Transition<TiRow>> {
    let deadline = tokio::time::Instant::now() + env.lease;
    let mut pause = Duration::from_millis(100);
    loop {
        match outcome::finish(&env.pool, ti, fence, outcome, retry).await {
            Err(e)
                if crate::run::is_transient(&e)
                    && tokio::time::Instant::now() + pause < deadline =>
            {
                tracing::warn!(error = %e, "writing the final state failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                tracing::error!(error = %e, "writing the final state failed");
                return Err(e);
            }
            ok => return ok,
        }
    }
}

/// The serialized DAG and the task's entry in it.
#[derive(Debug)]
pub struct Task {
    /// Shared by the tries of one DAG version (`crate::dag_cache`).
    pub dag: Arc<Json>,
    pub task: Json,
}

async fn load_task(pool: &PgPool, ti: &TiRow) -> Result<Task, PrepareError> {
    let dag = crate::dag_cache::dag_of(pool, ti.id, &ti.dag_id).await?;
    let task = dag
        .get("tasks")
        .and_then(Json::as_array)
        .and_then(|ts| {
            ts.iter()
                .find(|t| t.get("task_id").and_then(Json::as_str) == Some(&ti.task_id))
        })
        .cloned()
        .ok_or_else(|| format!("task {} is not in DAG {}", ti.task_id, ti.dag_id))?;
    Ok(Task { dag, task })
}

async fn heartbeat_loop(env: TaskEnv, fence: Fence, lost: Arc<Notify>) {
    let every = env.lease / 3;
    loop {
        tokio::time::sleep(every).await;
        let result = async {
            let mut conn = env
                .pool
                .acquire()
                .await
                .map_err(updraft_core::Error::from)?;
            ti_state::heartbeat(&mut conn, fence, env.lease).await
        }
        .await;
        match result {
            Ok(Transition::Applied(_)) => {}
            Ok(other) => {
                tracing::warn!(?other, "lease lost; stopping the task");
                lost.notify_one();
                return;
            }
            // The database may be restarting: the lease has room for a retry.
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
    }
}

/// Loads the task and renders its template fields. A database failure (say,
/// a restart, or a pooled connection found dead right after one) is not the
/// task's: it is tried again, backing off, within one lease (the heartbeat
/// keeps it). The task's own errors fail the try at once.
async fn load_and_prepare(
    env: &TaskEnv,
    ti: &TiRow,
    fence: Fence,
) -> Result<(Task, Prepared), String> {
    let deadline = tokio::time::Instant::now() + env.lease;
    let mut pause = Duration::from_millis(200);
    loop {
        let result = async {
            let task = load_task(&env.pool, ti).await?;
            let prepared = prepare(env, ti, fence, &task).await?;
            Ok((task, prepared))
        }
        .await;
        match result {
            Err(PrepareError::Database(msg)) if tokio::time::Instant::now() + pause < deadline => {
                tracing::warn!(error = %msg, "preparing the try failed on the database; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                tracing::warn!(error = %e, "preparing the try failed");
                return Err(e.to_string());
            }
            Ok(prepared) => return Ok(prepared),
        }
    }
}

/// Runs the prepared task; how it ended.
async fn run(
    ti: &TiRow,
    fence: Fence,
    task: &Task,
    prepared: &Prepared,
    sink: &DbLogSink,
    lost: &Notify,
    env: &TaskEnv,
) -> Outcome {
    let cx = TryCtx {
        env,
        ti,
        fence,
        task,
        prepared,
        sink,
        lost,
    };
    dispatch::run(&cx).await
}
