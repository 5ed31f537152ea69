//! TriggerDagRunOperator: creates a manual run of `trigger_dag_id` through
//! the scheduler's own [`runs::trigger`], pushes Airflow's XComs
//! (`trigger_run_id`, and the logical date under the dialect's key), and
//! with `wait_for_completion` polls the run every `poke_interval` until it
//! reaches `allowed_states` (success) or `failed_states` (failure).
//! `reset_dag_run` (clearing an existing run) is not supported yet and
//! fails the task clearly when the run exists.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value as Json};
use updraft_core::store::dag_runs::{self, RunType, python_isoformat};
use updraft_scheduler::Error as SchedulerError;
use updraft_scheduler::runs::{self, ManualTrigger};

use super::{SCHEDULE_DEFAULTS, datetime_of, fail, field, seconds_of, strings};
use crate::dispatch::TryCtx;
use crate::outcome::Outcome;
use crate::templates::Dialect;

/// `trigger_run_id`: the XCom key of the triggered run's id.
pub const XCOM_RUN_ID: &str = "trigger_run_id";

/// The XCom key of the triggered run's logical date (2.x / 3.x names).
pub fn logical_date_key(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::V2 => "trigger_execution_date_iso",
        Dialect::V3 => "trigger_logical_date_iso",
    }
}

fn flag(cx: &TryCtx<'_>, name: &str) -> bool {
    field(cx, name).and_then(Json::as_bool) == Some(true)
}

fn states(cx: &TryCtx<'_>, name: &str, default: &str) -> Result<Vec<String>, String> {
    match field(cx, name) {
        None => Ok(vec![default.to_owned()]),
        Some(v) => strings(v).map_err(|e| format!("{name}: {e}")),
    }
}

/// `trigger_dagrun`.
pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    match trigger(cx).await {
        Ok(o) => o,
        Err(e) => fail(cx, &e),
    }
}

async fn trigger(cx: &TryCtx<'_>) -> Result<Outcome, String> {
    let dag_id = field(cx, "trigger_dag_id")
        .and_then(Json::as_str)
        .ok_or("TriggerDagRunOperator needs trigger_dag_id")?
        .to_owned();
    let conf = match field(cx, "conf") {
        None => Json::Object(Map::new()),
        Some(Json::Object(m)) => Json::Object(m.clone()),
        Some(other) => return Err(format!("conf must be a dict, got {other}")),
    };
    let now = Utc::now();
    let logical_date = field(cx, "logical_date")
        .or_else(|| field(cx, "execution_date"))
        .map(datetime_of)
        .transpose()?
        .unwrap_or(now);
    let run_id = match field(cx, "trigger_run_id") {
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => RunType::Manual.run_id(logical_date),
    };
    if flag(cx, "fail_when_dag_is_paused") && is_paused(cx, &dag_id).await? {
        return Err(format!("Dag {dag_id} is paused"));
    }
    let req = ManualTrigger {
        dag_id: dag_id.clone(),
        conf,
        logical_date: Some(logical_date),
        run_id: Some(run_id.clone()),
        triggered_by: "operator",
        audit_owner: None,
    };
    let row = match runs::trigger(&cx.env.pool, &SCHEDULE_DEFAULTS, &req, now).await {
        Ok(row) => row,
        Err(SchedulerError::RunExists { .. }) if flag(cx, "reset_dag_run") => {
            return Err(format!(
                "DAG run {run_id} of {dag_id} already exists; reset_dag_run (clearing it) \
                 is not supported by Updraft's worker yet"
            ));
        }
        Err(SchedulerError::RunExists { .. }) if flag(cx, "skip_when_already_exists") => {
            cx.sink.info(
                "Skipping due to skip_when_already_exists is set to True and DagRunAlreadyExists",
            );
            return Ok(Outcome::skipped());
        }
        Err(e) => return Err(e.to_string()),
    };
    cx.sink
        .info(&format!("Triggered DAG {dag_id} run {}", row.run_id));
    let mut out = Outcome::success(None);
    out.xcoms
        .push((XCOM_RUN_ID.to_owned(), Json::String(row.run_id.clone())));
    if let Some(ld) = row.logical_date {
        let key = logical_date_key(cx.prepared.inputs.dialect);
        out.xcoms
            .push((key.to_owned(), Json::String(python_isoformat(ld))));
    }
    if !flag(cx, "wait_for_completion") {
        return Ok(out);
    }
    let every = field(cx, "poke_interval")
        .map(seconds_of)
        .transpose()?
        .unwrap_or(60.0)
        .max(0.0);
    let allowed = states(cx, "allowed_states", "success")?;
    let failed = states(cx, "failed_states", "failed")?;
    let wait = async {
        loop {
            cx.sink.info(&format!(
                "Waiting for {dag_id} on {} to become allowed state {allowed:?} ...",
                row.logical_date.map(python_isoformat).unwrap_or_default()
            ));
            tokio::time::sleep(Duration::from_secs_f64(every)).await;
            let mut conn = cx.conn().await?;
            let state = dag_runs::get(&mut conn, &dag_id, &row.run_id)
                .await
                .map_err(|e| e.to_string())?
                .map(|r| r.state)
                .ok_or_else(|| format!("DAG run {} of {dag_id} disappeared", row.run_id))?;
            if failed.contains(&state) {
                return Err(format!("{dag_id} failed with failed states {state}"));
            }
            if allowed.contains(&state) {
                cx.sink
                    .info(&format!("{dag_id} finished with allowed state {state}"));
                return Ok(());
            }
        }
    };
    // execution_timeout covers the wait (AirflowTaskTimeout: retried).
    let limit = crate::bash_task::timeout(&cx.task.task);
    let bounded = async {
        match limit {
            Some(d) => tokio::time::timeout(d, wait).await.unwrap_or_else(|_| {
                Err(format!(
                    "Timeout: waiting for {dag_id} took longer than the execution_timeout of {d:?}"
                ))
            }),
            None => wait.await,
        }
    };
    tokio::select! {
        _ = cx.lost.notified() => Err("The task's lease was lost: stopping the wait".into()),
        done = bounded => done.map(|()| out),
    }
}

/// 3.x's `fail_when_dag_is_paused`.
async fn is_paused(cx: &TryCtx<'_>, dag_id: &str) -> Result<bool, String> {
    let all = updraft_core::store::dags::list(&cx.env.pool)
        .await
        .map_err(|e| format!("reading DAGs: {e}"))?;
    Ok(all.iter().any(|d| d.dag_id == dag_id && d.is_paused))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The logical-date XCom key is the one each Airflow version pushes.
    #[test]
    fn xcom_keys_follow_the_dialect() {
        assert_eq!(logical_date_key(Dialect::V2), "trigger_execution_date_iso");
        assert_eq!(logical_date_key(Dialect::V3), "trigger_logical_date_iso");
    }
}
