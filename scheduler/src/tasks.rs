//! One scheduling pass over DAG runs, after run creation: start queued runs
//! within `max_active_runs`, decide the task instances of running runs by
//! their trigger rules (finishing EmptyOperator tasks on the spot), queue
//! scheduled task instances within pools and caps, end finished runs by the
//! leaf rule, and reap tries whose lease ran out. The decisions are
//! [`crate::decide`]'s; this module only reads and applies them.
//!
//! Several schedulers may run this at once: a run is examined under its row
//! lock (`FOR UPDATE SKIP LOCKED`), DAGs whose queued runs start are locked
//! the same way, and every state change is a guarded UPDATE.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection, PgPool};
use updraft_core::deps::Decision;
use updraft_core::store::dag_runs::{self, LockedRun};
use updraft_core::store::events;
use updraft_core::store::task_instances;
use updraft_core::store::ti_state;

use crate::Result;
use crate::decide::{self, Graph};

/// How a pass behaves.
#[derive(Debug, Clone, Copy)]
pub struct TaskPassOptions {
    /// `max_active_runs` of DAGs that leave it unset (Airflow's 16).
    pub default_max_active_runs: i64,
    /// Runs (and DAGs) locked per transaction.
    pub run_batch: i64,
    /// Task instances queued per pass at most.
    pub max_queue: i64,
    /// Reaped tries retry after this long.
    pub retry_delay: Duration,
}

impl Default for TaskPassOptions {
    fn default() -> Self {
        Self {
            default_max_active_runs: 16,
            run_batch: 50,
            max_queue: 512,
            retry_delay: Duration::from_secs(300),
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskPassReport {
    pub runs_started: usize,
    pub runs_examined: usize,
    /// Task instances set scheduled, skipped or upstream_failed.
    pub tis_decided: usize,
    /// EmptyOperator task instances finished in the scheduler.
    pub tis_finished: usize,
    pub tis_queued: usize,
    pub tis_reaped: usize,
    pub runs_finished: usize,
    /// Runs skipped because of an error (logged; the pass goes on).
    pub runs_failed: usize,
}

/// One pass at `now`. A run whose DAG cannot be read is logged and skipped.
#[tracing::instrument(skip_all)]
pub async fn pass(
    pool: &PgPool,
    opts: &TaskPassOptions,
    now: DateTime<Utc>,
) -> Result<TaskPassReport> {
    let mut report = TaskPassReport {
        runs_started: start_runs(pool, opts, now).await?,
        ..TaskPassReport::default()
    };
    {
        let mut conn = pool.acquire().await?;
        report.tis_reaped =
            ti_state::reap_expired_leases(&mut conn, now, opts.retry_delay, opts.max_queue)
                .await?
                .len();
    }
    examine_runs(pool, opts, now, &mut report).await?;
    let mut tx = pool.begin().await?;
    report.tis_queued = ti_state::queue_scheduled(&mut tx, opts.max_queue, now)
        .await?
        .len();
    if report.tis_queued > 0 {
        events::notify(&mut tx, events::TI_QUEUED).await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// Queued runs → running, within each DAG's `max_active_runs`.
async fn start_runs(pool: &PgPool, opts: &TaskPassOptions, now: DateTime<Utc>) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let dags = dag_runs::lock_dags_with_queued_runs(&mut tx, opts.run_batch).await?;
    let started = if dags.is_empty() {
        Vec::new()
    } else {
        dag_runs::start_queued(&mut tx, &dags, opts.default_max_active_runs, now).await?
    };
    tx.commit().await?;
    for (dag_id, run_id) in &started {
        tracing::info!(%dag_id, %run_id, "started run");
    }
    Ok(started.len())
}

/// Every running run not held by another scheduler, a batch per transaction
/// and a savepoint per run.
async fn examine_runs(
    pool: &PgPool,
    opts: &TaskPassOptions,
    now: DateTime<Utc>,
    report: &mut TaskPassReport,
) -> Result<()> {
    let mut seen: Vec<i64> = Vec::new();
    loop {
        let mut tx = pool.begin().await?;
        let runs = dag_runs::lock_running(&mut tx, opts.run_batch, &seen).await?;
        if runs.is_empty() {
            tx.commit().await?;
            return Ok(());
        }
        for run in runs {
            seen.push(run.id);
            report.runs_examined += 1;
            let mut sp = tx.begin().await?;
            match examine_run(&mut sp, &run, now, report).await {
                Ok(()) => sp.commit().await?,
                Err(e) => {
                    sp.rollback().await?;
                    report.runs_failed += 1;
                    tracing::warn!(dag_id = %run.dag_id, run_id = %run.run_id, error = %e,
                                   "cannot schedule run");
                }
            }
        }
        tx.commit().await?;
    }
}

/// Applies the trigger-rule decisions of one locked run until nothing more
/// changes (so a chain of EmptyOperator tasks completes in one pass), then
/// ends the run if every task instance is finished. Public for `dags test`,
/// which schedules its one run in-process.
#[tracing::instrument(skip_all, fields(dag_id = %run.dag_id, run_id = %run.run_id))]
pub async fn examine_run(
    conn: &mut PgConnection,
    run: &LockedRun,
    now: DateTime<Utc>,
    report: &mut TaskPassReport,
) -> Result<()> {
    let graph =
        Graph::from_serialized(&run.data).map_err(|reason| crate::Error::Unschedulable {
            dag_id: run.dag_id.clone(),
            reason,
        })?;
    // Each round finishes at least one task instance or stops, so the loop
    // ends; the bound guards against a state another writer keeps flipping.
    for _ in 0..=graph.nodes.len().saturating_add(1) {
        let tis = task_instances::statuses_for_run(conn, &run.dag_id, &run.run_id).await?;
        let decisions = decide::decide(&graph, &tis, now);
        let pick = |d: Decision| -> Vec<uuid::Uuid> {
            decisions
                .iter()
                .filter(|t| t.decision == d)
                .map(|t| t.id)
                .collect()
        };
        let mut changed = 0;
        for (decision, ids) in [
            (Decision::Run, pick(Decision::Run)),
            (Decision::Skip, pick(Decision::Skip)),
            (Decision::UpstreamFailed, pick(Decision::UpstreamFailed)),
        ] {
            if ids.is_empty() {
                continue;
            }
            let outcomes = match decision {
                Decision::Run => ti_state::set_scheduled(conn, &ids, now).await?,
                Decision::Skip => ti_state::set_skipped(conn, &ids, now).await?,
                _ => ti_state::set_upstream_failed(conn, &ids, now).await?,
            };
            for (id, outcome) in outcomes {
                if outcome.is_applied() {
                    changed += 1;
                    if let Some(d) = decisions.iter().find(|t| t.id == id) {
                        tracing::debug!(task_id = %d.task_id, reason = %d.reason, "decided");
                    }
                } else {
                    tracing::debug!(%id, ?outcome, "decision refused: state changed meanwhile");
                }
            }
        }
        report.tis_decided += changed;
        let tis = task_instances::statuses_for_run(conn, &run.dag_id, &run.run_id).await?;
        let empties = decide::empty_to_finish(&graph, &tis);
        let finished = if empties.is_empty() {
            0
        } else {
            task_instances::succeed_scheduled(conn, &empties, now)
                .await?
                .len()
        };
        report.tis_finished += finished;
        if changed + finished == 0 {
            if let Some(outcome) = decide::run_outcome(&graph, &tis) {
                if dag_runs::finish(conn, run.id, outcome, now).await? {
                    report.runs_finished += 1;
                    tracing::info!(state = outcome.as_str(), "run finished");
                }
            } else {
                dag_runs::touch_scheduling_decision(conn, run.id, now).await?;
            }
            return Ok(());
        }
    }
    dag_runs::touch_scheduling_decision(conn, run.id, now).await?;
    Ok(())
}
