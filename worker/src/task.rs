//! One claimed try, from claim to fenced final write: load the serialized
//! task, build the template context, render and store its template fields,
//! run its operator while heartbeating the lease and streaming the log, then
//! end the try (with its `return_value` XCom) in one transaction.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{Map, Value as Json};
use sqlx::PgPool;
use tokio::sync::Notify;
use updraft_core::store::ti_state::{self, Fence, FinishOutcome, TiRow, Transition};
use updraft_core::store::{dag_runs, dags, events, rendered_fields, xcom};
use updraft_core::timetable::DataInterval;
use uuid::Uuid;

use crate::bash_task::{self, Ended};
use crate::db_log::DbLogSink;
use crate::log_sink::Filtered;
use crate::operators::bash::{self, RunLimits};
use crate::serialized::{DEFAULT_RETRY_DELAY, params, retry_delay};
use crate::templates::{
    ContextInputs, Dialect, RenderOptions, SecretSet, TemplateContext, render_field,
};

/// What every try of one worker shares.
#[derive(Debug, Clone)]
pub struct TaskEnv {
    pub pool: PgPool,
    pub worker_id: Uuid,
    pub lease: Duration,
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
    let task = load_task(&env.pool, &ti).await;
    let ended = match &task {
        Ok(task) => run(&env, &ti, fence, task, &sink, &lost).await,
        Err(msg) => {
            sink.error(msg);
            Ended::Failed
        }
    };
    beat.abort();
    let retry = task
        .as_ref()
        .map_or(DEFAULT_RETRY_DELAY, |t| retry_delay(&t.task, ti.try_number));
    let line = match finish(&env.pool, &ti, fence, &ended, retry).await {
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
    drop(sink);
    writer.close().await;
}

/// The serialized DAG and the task's entry in it.
struct Task {
    dag: Json,
    task: Json,
}

async fn load_task(pool: &PgPool, ti: &TiRow) -> Result<Task, String> {
    let dag = dags::serialized(pool, &ti.dag_id)
        .await
        .map_err(|e| format!("loading serialized DAG {}: {e}", ti.dag_id))?
        .ok_or_else(|| format!("DAG {} has no serialized form", ti.dag_id))?;
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

/// Renders and runs the task; how it ended.
async fn run(
    env: &TaskEnv,
    ti: &TiRow,
    fence: Fence,
    t: &Task,
    sink: &DbLogSink,
    lost: &Notify,
) -> Ended {
    let prepared = match prepare(env, ti, fence, t).await {
        Ok(p) => p,
        Err(msg) => {
            sink.error(&msg);
            return Ended::Failed;
        }
    };
    let kind = t
        .task
        .get("operator_kind")
        .and_then(Json::as_str)
        .unwrap_or("");
    let is_python = t.task.get("python").is_some_and(|p| !p.is_null());
    match kind {
        "empty" => Ended::Success { xcom: None },
        "bash" if !is_python => run_bash(ti, t, &prepared, sink, lost).await,
        other => {
            // `@task.bash` is kind bash with a Python callable that makes the command.
            let what = match (other, is_python) {
                ("bash", true) => "bash (@task.bash)".to_owned(),
                _ => other.to_owned(),
            };
            sink.error(&format!(
                "operator kind {what} is not supported by this worker yet"
            ));
            Ended::Failed
        }
    }
}

struct Prepared {
    inputs: ContextInputs,
    raw: Map<String, Json>,
    rendered: Map<String, Json>,
    template_ext: Vec<String>,
    secrets: Vec<SecretSet>,
}

async fn prepare(env: &TaskEnv, ti: &TiRow, fence: Fence, t: &Task) -> Result<Prepared, String> {
    let mut conn = env
        .pool
        .acquire()
        .await
        .map_err(|e| format!("database: {e}"))?;
    xcom::clear_for_ti(&mut conn, ti.id)
        .await
        .map_err(|e| e.to_string())?;
    let run = dag_runs::get(&mut conn, &ti.dag_id, &ti.run_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("DAG run {} not found", ti.run_id))?;
    let data_interval = match (run.data_interval_start, run.data_interval_end) {
        (Some(start), Some(end)) => Some(DataInterval { start, end }),
        _ => None,
    };
    let inputs = ContextInputs {
        dag_id: ti.dag_id.clone(),
        task_id: ti.task_id.clone(),
        run_id: ti.run_id.clone(),
        logical_date: run.logical_date,
        data_interval,
        external_trigger: run.run_type == "manual",
        conf: run.conf.clone(),
        params: params(&t.dag, &t.task),
        try_number: u32::try_from(ti.try_number).unwrap_or(1),
        map_index: i64::from(ti.map_index),
        dialect: Dialect::from_serialized(t.dag.get("dialect").and_then(Json::as_str)),
    };
    let data = crate::store_data::snapshot(&mut conn, &ti.dag_id, &ti.run_id)
        .await
        .map_err(|e| format!("reading XComs, variables and connections: {e}"))?;
    let ctx = TemplateContext::new(inputs.clone(), Arc::new(data));
    let strings = |v: Option<&Json>| -> Vec<String> {
        v.and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let template_ext = strings(t.task.get("template_ext"));
    let mut search_path: Vec<PathBuf> = Vec::new();
    if let Some(folder) = t
        .dag
        .get("fileloc")
        .and_then(Json::as_str)
        .and_then(|f| Path::new(f).parent())
    {
        search_path.push(folder.to_owned());
    }
    search_path.extend(
        strings(t.dag.get("template_searchpath"))
            .into_iter()
            .map(PathBuf::from),
    );
    let options = RenderOptions {
        template_ext: template_ext.clone(),
        search_path,
        native: t
            .dag
            .get("render_template_as_native_obj")
            .and_then(Json::as_bool)
            .unwrap_or(false),
    };
    let raw = t
        .task
        .get("fields")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let (mut rendered, mut masked, mut secrets) = (Map::new(), Map::new(), Vec::new());
    for name in strings(t.task.get("template_fields")) {
        let Some(value) = raw.get(&name) else {
            continue;
        };
        let r =
            render_field(value, &ctx, &options).map_err(|e| format!("rendering {name}: {e}"))?;
        masked.insert(name.clone(), r.masked());
        rendered.insert(name, r.value);
        secrets.push(r.secrets);
    }
    let stored = rendered_fields::set(&mut conn, fence, &Json::Object(masked))
        .await
        .map_err(|e| format!("storing rendered fields: {e}"))?;
    if !stored {
        return Err("this try no longer owns the task instance".into());
    }
    Ok(Prepared {
        inputs,
        raw,
        rendered,
        template_ext,
        secrets,
    })
}

async fn run_bash(ti: &TiRow, t: &Task, p: &Prepared, sink: &DbLogSink, lost: &Notify) -> Ended {
    let owner = t
        .task
        .get("owner")
        .and_then(Json::as_str)
        .unwrap_or("airflow");
    let spec = match bash_task::spec(&p.raw, &p.rendered, &p.template_ext, &p.inputs, owner) {
        Ok(spec) => spec,
        Err(msg) => {
            sink.error(&msg);
            return Ended::Failed;
        }
    };
    let secrets = p.secrets.clone();
    let masked = Filtered::new(sink, move |l: &str| {
        secrets.iter().fold(l.to_owned(), |acc, s| s.mask(&acc))
    });
    sink.info(&format!("Running command for {}", ti.task_id));
    let limits = RunLimits {
        timeout: bash_task::timeout(&t.task),
        ..RunLimits::default()
    };
    let push = t
        .task
        .get("do_xcom_push")
        .and_then(Json::as_bool)
        .unwrap_or(true);
    match bash::run_bash(&spec, &masked, limits, lost.notified()).await {
        Ok(outcome) => {
            let (ended, msg) = bash_task::ended(&outcome, push);
            match ended {
                Ended::Failed => sink.error(&msg),
                _ => sink.info(&msg),
            }
            ended
        }
        Err(e) => {
            sink.error(&e.to_string());
            Ended::Failed
        }
    }
}

/// The fenced final write, with the `return_value` XCom in the same
/// transaction (rolled back when the write is refused).
async fn finish(
    pool: &PgPool,
    ti: &TiRow,
    fence: Fence,
    ended: &Ended,
    retry_delay: f64,
) -> updraft_core::Result<Transition<TiRow>> {
    let mut tx = pool.begin().await?;
    let outcome = match ended {
        Ended::Success { xcom: value } => {
            if let Some(value) = value {
                let at = xcom::XComRef {
                    dag_id: &ti.dag_id,
                    run_id: &ti.run_id,
                    task_id: &ti.task_id,
                    map_index: ti.map_index,
                    key: "return_value",
                };
                xcom::set(&mut tx, ti.id, &at, value).await?;
            }
            FinishOutcome::Success
        }
        Ended::Skipped => FinishOutcome::Skipped,
        Ended::Failed => {
            let delay = TimeDelta::milliseconds((retry_delay.max(0.0) * 1000.0) as i64);
            FinishOutcome::UpForRetry {
                next_retry_at: Utc::now() + delay,
            }
        }
    };
    let result = ti_state::finish(&mut tx, fence, outcome).await?;
    if result.is_applied() {
        events::notify(&mut tx, events::TI_FINISHED).await?;
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(result)
}
