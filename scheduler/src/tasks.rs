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
use updraft_core::model::mapping::MAX_MAP_LENGTH;
use updraft_core::observe;
use updraft_core::store::dag_runs::{self, LockedRun, RunOutcome};
use updraft_core::store::events;
use updraft_core::store::task_instances;
use updraft_core::store::ti_state;
use updraft_core::store::xcom;

use crate::Result;
use crate::dag_cache;
use crate::decide::{self, Graph, PastView};
use crate::settle::settle;

/// The batch write a settled decision needs.
#[derive(Clone, Copy)]
enum Write {
    Scheduled,
    Skipped,
    UpstreamFailed,
}

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
    /// `[scheduler] catchup_by_default`, for DAGs that leave `catchup` unset
    /// (it decides which run is "previous" for `depends_on_past`).
    pub catchup_by_default: bool,
}

impl Default for TaskPassOptions {
    fn default() -> Self {
        Self {
            default_max_active_runs: 16,
            run_batch: 50,
            max_queue: 512,
            retry_delay: Duration::from_secs(300),
            catchup_by_default: true,
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
    // Backfills start their own runs, within their own max_active_runs.
    report.runs_started += crate::backfill::start_runs(pool, now).await?;
    {
        let mut conn = pool.acquire().await?;
        report.tis_reaped =
            ti_state::reap_expired_leases(&mut conn, now, opts.retry_delay, opts.max_queue)
                .await?
                .len();
    }
    examine_runs(pool, opts, now, &mut report).await?;
    crate::backfill::complete_finished(pool, now).await?;
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
            match examine_run(&mut sp, &run, opts, now, report).await {
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
    opts: &TaskPassOptions,
    now: DateTime<Utc>,
    report: &mut TaskPassReport,
) -> Result<()> {
    let graph = dag_cache::graph(conn, &run.dag_id, run.dag_version_id).await?;
    if let Some(limit) = graph.dagrun_timeout
        && run.start_date.is_some_and(|start| start + limit < now)
    {
        let skipped = ti_state::skip_unfinished(conn, &run.dag_id, &run.run_id, now).await?;
        if dag_runs::finish(conn, run.id, RunOutcome::Failed, now).await? {
            report.runs_finished += 1;
            observe_finished(run, RunOutcome::Failed.as_str(), now);
            tracing::info!(skipped, "run failed: it ran longer than dagrun_timeout");
        }
        return Ok(());
    }
    let past = if graph.depends_on_past() {
        past_view(conn, run, &graph, opts).await?
    } else {
        PastView::default()
    };
    // Settling decides everything that can move in memory; only a mapped
    // task's expansion needs another round (its new task instances are
    // read back). The bound guards against a state another writer keeps
    // flipping.
    let mut tis = task_instances::statuses_for_run(conn, &run.dag_id, &run.run_id).await?;
    // Whether a write was refused (another writer got there first): then the
    // in-memory states are not what the database holds.
    let mut stale = false;
    for _ in 0..=graph.nodes.len().saturating_add(1) {
        let settled = settle(&graph, &mut tis, &past, now);
        if settled.is_empty() {
            break;
        }
        let mut decided = 0;
        for (ids, write) in [
            (&settled.scheduled, Write::Scheduled),
            (&settled.skipped, Write::Skipped),
            (&settled.upstream_failed, Write::UpstreamFailed),
        ] {
            if ids.is_empty() {
                continue;
            }
            let outcomes = match write {
                Write::Scheduled => ti_state::set_scheduled(conn, ids, now).await?,
                Write::Skipped => ti_state::set_skipped(conn, ids, now).await?,
                Write::UpstreamFailed => ti_state::set_upstream_failed(conn, ids, now).await?,
            };
            for (id, outcome) in outcomes {
                if outcome.is_applied() {
                    decided += 1;
                } else {
                    stale = true;
                    tracing::debug!(%id, ?outcome, "decision refused: state changed meanwhile");
                }
            }
        }
        report.tis_decided += decided;
        if !settled.empty_success.is_empty() {
            let done = task_instances::succeed_empty(conn, &settled.empty_success, now)
                .await?
                .len();
            stale |= done < settled.empty_success.len();
            report.tis_finished += done;
        }
        if settled.to_expand.is_empty() {
            break;
        }
        report.tis_decided += expand_mapped(conn, run, &graph, &settled.to_expand, now).await?;
        tis = task_instances::statuses_for_run(conn, &run.dag_id, &run.run_id).await?;
    }
    // Finished states only change by clearing, which re-queues the run, so
    // the settled states decide the outcome unless a write was refused.
    if stale {
        tis = task_instances::statuses_for_run(conn, &run.dag_id, &run.run_id).await?;
    }
    if let Some(outcome) = decide::run_outcome(&graph, &tis) {
        if dag_runs::finish(conn, run.id, outcome, now).await? {
            report.runs_finished += 1;
            observe_finished(run, outcome.as_str(), now);
            tracing::info!(state = outcome.as_str(), "run finished");
        }
        return Ok(());
    }
    dag_runs::touch_scheduling_decision(conn, run.id, now).await?;
    Ok(())
}

/// Airflow's `dagrun.duration.<state>` and the run's root span, for a run
/// that just ended.
fn observe_finished(run: &LockedRun, state: &str, now: DateTime<Utc>) {
    let secs = run.start_date.map_or(0.0, |start| {
        (now - start).num_milliseconds() as f64 / 1000.0
    });
    observe::metrics::dagrun_finished(&run.dag_id, state, secs);
    observe::trace::run_finished(&observe::trace::FinishedRun {
        dag_id: &run.dag_id,
        run_id: &run.run_id,
        state,
        start: run.start_date,
        end: now,
    });
}

/// The previous run of `run` and what `depends_on_past` needs of it.
async fn past_view(
    conn: &mut PgConnection,
    run: &LockedRun,
    graph: &Graph,
    opts: &TaskPassOptions,
) -> Result<PastView> {
    let catchup = graph.catchup.unwrap_or(opts.catchup_by_default);
    let previous = match dag_runs::previous_run(conn, &run.dag_id, &run.run_id, catchup).await? {
        Some((prev_id, logical_date)) => Some((
            logical_date,
            task_instances::statuses_for_run(conn, &run.dag_id, &prev_id).await?,
        )),
        None => None,
    };
    let ids: Vec<String> = graph
        .nodes
        .iter()
        .filter(|(_, n)| n.past.ignore_first_depends_on_past)
        .map(|(id, _)| id.clone())
        .collect();
    let with_history = if ids.is_empty() {
        Default::default()
    } else {
        task_instances::tasks_with_history(conn, &run.dag_id, &run.run_id, &ids)
            .await?
            .into_iter()
            .collect()
    };
    Ok(PastView {
        previous,
        catchup,
        with_history,
    })
}

/// Expands the unmapped task instances of mapped tasks whose upstreams are
/// done: one task instance per element of what they map over (read from the
/// upstream XComs), or `failed` when that cannot be mapped. How many changed.
async fn expand_mapped(
    conn: &mut PgConnection,
    run: &LockedRun,
    graph: &Graph,
    decisions: &[decide::TiDecision],
    now: DateTime<Utc>,
) -> Result<usize> {
    let rows = xcom::list_for_run(conn, &run.dag_id, &run.run_id).await?;
    let mut changed = 0;
    for d in decisions {
        let Some(input) = graph.nodes.get(&d.task_id).and_then(|n| n.mapped.as_ref()) else {
            continue;
        };
        let length = input
            .resolve(|(task_id, key)| xcom::pulled(&rows, task_id, key))
            .map(|r| r.len())
            .and_then(|n| {
                if n > MAX_MAP_LENGTH {
                    Err(format!(
                        "{n} values to map over, more than max_map_length ({MAX_MAP_LENGTH})"
                    ))
                } else {
                    Ok(n)
                }
            });
        let outcome = match length {
            Ok(n) => {
                let n = i32::try_from(n).unwrap_or(i32::MAX);
                tracing::info!(task_id = %d.task_id, n, "expanded mapped task");
                ti_state::expand(conn, d.id, n, now).await?.is_applied()
            }
            Err(reason) => {
                tracing::warn!(task_id = %d.task_id, %reason, "cannot expand mapped task");
                ti_state::set_failed_unstarted(conn, &[d.id], now)
                    .await?
                    .iter()
                    .any(|(_, t)| t.is_applied())
            }
        };
        changed += usize::from(outcome);
    }
    Ok(changed)
}
