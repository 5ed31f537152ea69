//! Creating DAG runs: from schedules ([`create_due_runs`], one pass of the
//! scheduler) and by hand ([`trigger`]). A run and its task instances are
//! created in one transaction.
//!
//! Several schedulers may run this at once: each locks the `dag` rows it works
//! on with `FOR UPDATE SKIP LOCKED`, so a DAG is handled by one scheduler at a
//! time, and the unique indexes on `dag_run` refuse a second copy of a run
//! regardless (`ON CONFLICT DO NOTHING`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use updraft_core::model::SerializedDag;
use updraft_core::store::audit::{self, AuditEntry};
use updraft_core::store::dag_runs::{self, DagRunRow, NewDagRun, NextDagRun, RunType};
use updraft_core::store::events;
use updraft_core::store::task_instances::{self, RunRef};
use updraft_core::timetable::{DagSchedule, DataInterval, ScheduleDefaults};

use crate::dag_cache;
use crate::plan;
use crate::{Error, Result};

/// How a pass of run creation behaves.
#[derive(Debug, Clone, Copy)]
pub struct RunCreationOptions {
    pub defaults: ScheduleDefaults,
    /// At most this many runs of one DAG per pass (catchup fills in over passes).
    pub max_runs_per_dag: usize,
    /// `max_active_runs` of DAGs that leave it unset (Airflow's
    /// `[core] max_active_runs_per_dag`, 16).
    pub default_max_active_runs: i64,
    /// DAGs locked per transaction.
    pub dag_batch: i64,
}

impl RunCreationOptions {
    pub fn new(defaults: ScheduleDefaults) -> Self {
        Self {
            defaults,
            max_runs_per_dag: 16,
            default_max_active_runs: 16,
            dag_batch: 100,
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub dags_examined: usize,
    pub runs_created: usize,
    /// DAGs skipped because of an error (logged; the pass goes on).
    pub dags_failed: usize,
}

/// One pass: for every active, unpaused, scheduled DAG not held by another
/// scheduler, creates the runs due at `now` and updates `dag.next_dagrun*`.
/// A DAG that fails (a bad schedule, a missing pool) is logged and skipped.
#[tracing::instrument(skip_all)]
pub async fn create_due_runs(
    pool: &PgPool,
    opts: &RunCreationOptions,
    now: DateTime<Utc>,
) -> Result<PassReport> {
    let mut report = PassReport::default();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let mut tx = pool.begin().await?;
        let dags = dag_runs::lock_schedulable(&mut tx, opts.dag_batch, &seen).await?;
        if dags.is_empty() {
            tx.commit().await?;
            return Ok(report);
        }
        for dag in dags {
            report.dags_examined += 1;
            seen.push(dag.dag_id.clone());
            // A savepoint per DAG: one DAG's failure does not undo the others.
            let mut sp = tx.begin().await?;
            match schedule_dag(&mut sp, &dag, opts, now).await {
                Ok(created) => {
                    sp.commit().await?;
                    report.runs_created += created;
                }
                Err(e) => {
                    sp.rollback().await?;
                    report.dags_failed += 1;
                    tracing::warn!(dag_id = %dag.dag_id, error = %e, "cannot create runs");
                }
            }
        }
        tx.commit().await?;
    }
}

#[tracing::instrument(skip_all, fields(dag_id = %dag.dag_id))]
async fn schedule_dag(
    conn: &mut PgConnection,
    dag: &dag_runs::SchedulableDag,
    opts: &RunCreationOptions,
    now: DateTime<Utc>,
) -> Result<usize> {
    let serialized = &*dag_cache::version(conn, &dag.dag_id, dag.dag_version_id).await?;
    let schedule = schedule_of(serialized, &opts.defaults)?;
    if !schedule.timetable.can_be_scheduled() {
        dag_runs::set_next_dagrun(conn, &dag.dag_id, &NextDagRun::default()).await?;
        return Ok(0);
    }
    let last = dag_runs::last_automated_interval(conn, &dag.dag_id)
        .await?
        .map(|(start, end)| DataInterval { start, end });
    let active = dag_runs::count_active(conn, &dag.dag_id).await?;
    let mut max_active = dag
        .max_active_runs
        .map_or(opts.default_max_active_runs, i64::from);
    if let Some(limit) = schedule.timetable.active_runs_limit() {
        max_active = max_active.min(i64::from(limit));
    }
    let room = usize::try_from((max_active - active).max(0)).unwrap_or(0);
    let due = plan::due_runs(&schedule, last, now, room.min(opts.max_runs_per_dag));
    let mut created = 0;
    if !due.create.is_empty() {
        let tasks = plan::task_instances(&serialized.tasks);
        for info in &due.create {
            let run = NewDagRun {
                dag_id: dag.dag_id.clone(),
                run_id: RunType::Scheduled.run_id(info.logical_date),
                run_type: RunType::Scheduled,
                logical_date: Some(info.logical_date),
                data_interval: Some((info.data_interval.start, info.data_interval.end)),
                run_after: info.run_after,
                conf: Value::Object(Default::default()),
                triggered_by: "scheduler",
            };
            let Some(new) = dag_runs::insert(conn, &run).await? else {
                tracing::debug!(run_id = %run.run_id, "run exists already");
                continue;
            };
            let run_ref = RunRef {
                dag_id: &run.dag_id,
                run_id: &run.run_id,
                dag_version_id: new.dag_version_id,
            };
            task_instances::create_for_run(conn, run_ref, &tasks).await?;
            tracing::info!(run_id = %run.run_id, "created scheduled run");
            created += 1;
        }
    }
    let next = due.next.map_or_else(NextDagRun::default, |n| NextDagRun {
        logical_date: Some(n.logical_date),
        data_interval: Some((n.data_interval.start, n.data_interval.end)),
        create_after: Some(n.run_after),
    });
    dag_runs::set_next_dagrun(conn, &dag.dag_id, &next).await?;
    Ok(created)
}

fn schedule_of(dag: &SerializedDag, defaults: &ScheduleDefaults) -> Result<DagSchedule> {
    DagSchedule::from_dag(dag, defaults).map_err(|source| Error::Timetable {
        dag_id: dag.dag_id.to_string(),
        source,
    })
}

/// A run triggered by hand (`dags trigger`, the UI, the REST API).
#[derive(Debug, Clone)]
pub struct ManualTrigger {
    pub dag_id: String,
    /// Must be a JSON object.
    pub conf: Value,
    /// Default: now.
    pub logical_date: Option<DateTime<Utc>>,
    /// Default: `manual__<logical date>`.
    pub run_id: Option<String>,
    pub triggered_by: &'static str,
    /// The person triggering (the UI's signed-in user): the run's
    /// `trigger_dag_run` audit row is written in the same transaction.
    pub audit_owner: Option<String>,
}

/// Airflow's default `allowed_run_id_pattern`, and the column's length.
fn valid_run_id(run_id: &str) -> bool {
    (1..=250).contains(&run_id.len())
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '~' | ':' | '+' | '-'))
}

/// Creates a manual run with its task instances, queued, on the DAG's
/// current version; its data interval is the timetable's manual inference
/// for the logical date (Airflow 2.x: the logical date defaults to now).
#[tracing::instrument(skip_all, fields(dag_id = %req.dag_id))]
pub async fn trigger(
    pool: &PgPool,
    defaults: &ScheduleDefaults,
    req: &ManualTrigger,
    now: DateTime<Utc>,
) -> Result<DagRunRow> {
    if !req.conf.is_object() {
        return Err(Error::InvalidConf(format!(
            "must be a JSON object, not {}",
            req.conf
        )));
    }
    if let Some(id) = &req.run_id
        && !valid_run_id(id)
    {
        return Err(Error::InvalidRunId(id.clone()));
    }
    let mut tx = pool.begin().await?;
    let Some(version_id) = dag_runs::current_version_id(&mut tx, &req.dag_id).await? else {
        return Err(Error::DagNotFound(req.dag_id.clone()));
    };
    let dag = dag_cache::version(&mut tx, &req.dag_id, version_id).await?;
    let schedule = schedule_of(&dag, defaults)?;
    let logical_date = req.logical_date.unwrap_or(now);
    let interval = schedule.timetable.infer_manual_data_interval(logical_date);
    let run_id = req
        .run_id
        .clone()
        .unwrap_or_else(|| RunType::Manual.run_id(logical_date));
    let run = NewDagRun {
        dag_id: req.dag_id.clone(),
        run_id: run_id.clone(),
        run_type: RunType::Manual,
        logical_date: Some(logical_date),
        data_interval: Some((interval.start, interval.end)),
        run_after: now,
        conf: req.conf.clone(),
        triggered_by: req.triggered_by,
    };
    let Some(new) = dag_runs::insert(&mut tx, &run).await? else {
        return Err(Error::RunExists {
            dag_id: req.dag_id.clone(),
            run_id,
        });
    };
    let tasks = plan::task_instances(&dag.tasks);
    let run_ref = RunRef {
        dag_id: &run.dag_id,
        run_id: &run.run_id,
        dag_version_id: new.dag_version_id,
    };
    task_instances::create_for_run(&mut tx, run_ref, &tasks).await?;
    let row = dag_runs::get(&mut tx, &req.dag_id, &run_id)
        .await?
        .ok_or_else(|| Error::DagNotFound(req.dag_id.clone()))?;
    if let Some(owner) = &req.audit_owner {
        audit::record(
            &mut tx,
            &AuditEntry {
                event: "trigger_dag_run",
                owner,
                dag_id: Some(&req.dag_id),
                extra: serde_json::json!({
                    "run_id": run_id,
                    "conf": req.conf,
                    "logical_date": logical_date.to_rfc3339(),
                    "source": req.triggered_by,
                }),
            },
        )
        .await?;
    }
    events::notify(&mut tx, events::RUN_QUEUED).await?;
    tx.commit().await?;
    tracing::info!(run_id = %run_id, "created manual run");
    Ok(row)
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_ids_follow_airflows_default_pattern() {
        assert!(super::valid_run_id("manual__2024-01-01T00:00:00+00:00"));
        assert!(super::valid_run_id("my_run.1"));
        assert!(!super::valid_run_id(""));
        assert!(!super::valid_run_id("has space"));
        assert!(!super::valid_run_id(&"x".repeat(251)));
    }
}
