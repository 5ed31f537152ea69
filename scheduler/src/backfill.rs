//! Backfills, Airflow 3's way: the scheduler owns them. [`create`] plans the
//! DAG's timetable dates in `[from, to]`, creates a queued `backfill` run
//! for each missing date (and clears and re-queues existing runs as the
//! reprocess behaviour says) in one transaction; each scheduler pass then
//! starts the next queued runs in `sort_ordinal` order within the
//! backfill's own `max_active_runs` ([`start_runs`]) and completes backfills
//! whose runs all finished ([`complete_finished`]). All state is in the
//! database, so a restarted scheduler carries on. [`dry_run`] answers what
//! [`create`] would do; [`pause`], [`unpause`] and [`cancel`] are the
//! controls. The UI, the CLI and the REST API call these functions.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use updraft_core::model::SerializedDag;
use updraft_core::store::audit::{self, AuditEntry};
use updraft_core::store::backfills::{
    self, BackfillDagRun, BackfillRow, Inserted, NewBackfill, NotCreated, Reprocess,
};
use updraft_core::store::dag_runs::{self, NewDagRun, RunType};
use updraft_core::store::events;
use updraft_core::store::task_instances::{self, RunRef};
use updraft_core::timetable::{
    DagSchedule, DataInterval, RunInfo, ScheduleDefaults, TimeRestriction,
};

use crate::{Error, Result, manual, plan};

/// Airflow's default `max_active_runs` of a backfill.
pub const DEFAULT_MAX_ACTIVE_RUNS: i32 = 10;
/// A guard against a range that would plan an absurd number of runs.
const MAX_PLANNED_RUNS: usize = 10_000;

/// What to backfill (Airflow's `POST /backfills` body).
#[derive(Debug, Clone)]
pub struct BackfillRequest {
    pub dag_id: String,
    pub from_date: DateTime<Utc>,
    pub to_date: DateTime<Utc>,
    pub run_backwards: bool,
    /// Must be a JSON object.
    pub dag_run_conf: Value,
    pub reprocess: Reprocess,
    pub max_active_runs: i32,
}

/// What happens to one planned date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new backfill run.
    Create,
    /// The existing run is cleared and re-queued.
    Rerun { run_id: String },
    /// The existing run is left alone.
    Skip { run_id: String, reason: NotCreated },
}

/// One planned date, in the order the backfill runs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub logical_date: DateTime<Utc>,
    pub data_interval: DataInterval,
    pub action: Action,
}

impl Planned {
    /// Whether the backfill runs this date (creates or re-runs it).
    pub fn runs(&self) -> bool {
        !matches!(self.action, Action::Skip { .. })
    }
}

/// Airflow's dry run: the dates [`create`] would plan and what it would do
/// with each. Writes nothing.
#[tracing::instrument(skip_all, fields(dag_id = %req.dag_id))]
pub async fn dry_run(
    pool: &PgPool,
    defaults: &ScheduleDefaults,
    req: &BackfillRequest,
    now: DateTime<Utc>,
) -> Result<Vec<Planned>> {
    let mut conn = pool.acquire().await?;
    let (_, dag) = checked_dag(&mut conn, req).await?;
    plan_actions(&mut conn, defaults, &dag, req, now).await
}

/// A backfill created, with what it planned.
#[derive(Debug, Clone)]
pub struct Created {
    pub backfill: BackfillRow,
    pub planned: Vec<Planned>,
}

/// Creates the backfill with its runs (queued) and clears the existing runs
/// it re-runs, with an audit row by `by_user`, in one transaction.
#[tracing::instrument(skip_all, fields(dag_id = %req.dag_id))]
pub async fn create(
    pool: &PgPool,
    defaults: &ScheduleDefaults,
    req: &BackfillRequest,
    by_user: &str,
    now: DateTime<Utc>,
) -> Result<Created> {
    let mut tx = pool.begin().await?;
    let (_, dag) = checked_dag(&mut tx, req).await?;
    let planned = plan_actions(&mut tx, defaults, &dag, req, now).await?;
    let new = NewBackfill {
        dag_id: &req.dag_id,
        from_date: req.from_date,
        to_date: req.to_date,
        dag_run_conf: &req.dag_run_conf,
        reprocess: req.reprocess,
        max_active_runs: req.max_active_runs,
        run_backwards: req.run_backwards,
        triggering_user: Some(by_user),
    };
    let Inserted::Created(id) = backfills::insert(&mut tx, &new).await? else {
        return Err(Error::BackfillRunning(req.dag_id.clone()));
    };
    let tasks = plan::task_instances(&dag.tasks);
    for (n, p) in planned.iter().enumerate() {
        let (dag_run_id, not_created) = match &p.action {
            Action::Create => {
                let interval = p.data_interval;
                let run = NewDagRun {
                    dag_id: req.dag_id.clone(),
                    run_id: RunType::Backfill.run_id(p.logical_date),
                    run_type: RunType::Backfill,
                    logical_date: Some(p.logical_date),
                    data_interval: Some((interval.start, interval.end)),
                    run_after: interval.end.min(now),
                    conf: req.dag_run_conf.clone(),
                    triggered_by: "backfill",
                };
                match dag_runs::insert(&mut tx, &run).await? {
                    Some(created) => {
                        let run_ref = RunRef {
                            dag_id: &run.dag_id,
                            run_id: &run.run_id,
                            dag_version_id: created.dag_version_id,
                        };
                        task_instances::create_for_run(&mut tx, run_ref, &tasks).await?;
                        (Some(created.id), None)
                    }
                    // Created by someone else since planning.
                    None => (None, Some(NotCreated::AlreadyExists)),
                }
            }
            Action::Rerun { run_id } => {
                let run_id_num = rerun(&mut tx, &dag, req, run_id, by_user).await?;
                (Some(run_id_num), None)
            }
            Action::Skip { reason, .. } => (None, Some(*reason)),
        };
        if let Some(run) = dag_run_id {
            backfills::attach_run(&mut tx, run, id, Some(by_user)).await?;
        }
        let row = BackfillDagRun {
            logical_date: p.logical_date,
            sort_ordinal: i32::try_from(n + 1).unwrap_or(i32::MAX),
            dag_run_id,
            not_created,
        };
        backfills::insert_dag_run(&mut tx, id, &row).await?;
    }
    audit::record(
        &mut tx,
        &AuditEntry {
            event: "create_backfill",
            owner: by_user,
            dag_id: Some(&req.dag_id),
            extra: serde_json::json!({
                "backfill_id": id,
                "from_date": req.from_date.to_rfc3339(),
                "to_date": req.to_date.to_rfc3339(),
                "reprocess_behavior": req.reprocess.as_str(),
                "max_active_runs": req.max_active_runs,
                "run_backwards": req.run_backwards,
                "dag_run_conf": req.dag_run_conf,
                "runs": planned.iter().filter(|p| p.runs()).count(),
            }),
        },
    )
    .await?;
    events::notify(&mut tx, events::RUN_QUEUED).await?;
    let backfill = backfills::get(&mut tx, id)
        .await?
        .ok_or(Error::BackfillNotFound(id))?;
    tx.commit().await?;
    tracing::info!(backfill_id = id, runs = backfill.total, "created backfill");
    Ok(Created { backfill, planned })
}

/// Clears an existing run for a backfill (only its failed task instances
/// when re-running failed runs) through the manual clear, which re-queues
/// it. Returns the run's id.
async fn rerun(
    conn: &mut PgConnection,
    dag: &SerializedDag,
    req: &BackfillRequest,
    run_id: &str,
    by_user: &str,
) -> Result<i64> {
    let only_failed = req.reprocess == Reprocess::Failed;
    let tis: Vec<_> = task_instances::views(&mut *conn, &req.dag_id, Some(run_id), None, None)
        .await?
        .into_iter()
        .filter(|v| {
            !only_failed || matches!(v.state.as_deref(), Some("failed" | "upstream_failed"))
        })
        .collect();
    if tis.is_empty() {
        dag_runs::requeue_cleared(&mut *conn, &req.dag_id, &[run_id.to_owned()]).await?;
    } else {
        manual::clear_in(&mut *conn, &dag.tasks, &req.dag_id, &tis, by_user).await?;
    }
    let existing = backfills::existing_run_id(&mut *conn, &req.dag_id, run_id)
        .await?
        .ok_or_else(|| Error::DagNotFound(req.dag_id.clone()))?;
    Ok(existing)
}

/// The DAG (its current version) after Airflow's checks of the request.
async fn checked_dag(
    conn: &mut PgConnection,
    req: &BackfillRequest,
) -> Result<(i64, SerializedDag)> {
    let invalid = |m: &str| Err(Error::InvalidBackfill(m.to_owned()));
    if !req.dag_run_conf.is_object() {
        return Err(Error::InvalidConf(format!(
            "must be a JSON object, not {}",
            req.dag_run_conf
        )));
    }
    if req.from_date > req.to_date {
        return invalid("from_date must be before or equal to to_date");
    }
    if req.max_active_runs < 1 {
        return invalid("max_active_runs must be at least 1");
    }
    let Some((version, dag)) = dag_runs::current_version(conn, &req.dag_id).await? else {
        return Err(Error::DagNotFound(req.dag_id.clone()));
    };
    if dag.tasks.iter().any(|t| t.depends_on_past) {
        if req.run_backwards {
            return invalid(
                "the DAG has tasks with depends_on_past=True: it cannot be backfilled backwards",
            );
        }
        if req.reprocess == Reprocess::None {
            return invalid(
                "the DAG has tasks with depends_on_past=True: set the reprocess behaviour to \
                 failed or completed runs",
            );
        }
    }
    Ok((version, dag))
}

fn schedule_of(dag: &SerializedDag, defaults: &ScheduleDefaults) -> Result<DagSchedule> {
    DagSchedule::from_dag(dag, defaults).map_err(|source| Error::Timetable {
        dag_id: dag.dag_id.to_string(),
        source,
    })
}

/// The dates and what to do with each, in the order they run.
async fn plan_actions(
    conn: &mut PgConnection,
    defaults: &ScheduleDefaults,
    dag: &SerializedDag,
    req: &BackfillRequest,
    now: DateTime<Utc>,
) -> Result<Vec<Planned>> {
    let schedule = schedule_of(dag, defaults)?;
    if !schedule.timetable.can_be_scheduled() {
        return Err(Error::NoSchedule(req.dag_id.clone()));
    }
    if req.from_date > now && req.to_date > now {
        return Err(Error::InvalidBackfill(
            "both dates are in the future: there is nothing to backfill".into(),
        ));
    }
    let mut infos = planned_runs(&schedule, req.from_date, req.to_date, now)?;
    if req.run_backwards {
        infos.reverse();
    }
    let dates: Vec<DateTime<Utc>> = infos.iter().map(|i| i.logical_date).collect();
    let existing = backfills::existing_runs(conn, &req.dag_id, &dates).await?;
    Ok(infos
        .into_iter()
        .map(|info| {
            let action = match existing
                .iter()
                .find(|e| e.logical_date == info.logical_date)
            {
                None => Action::Create,
                Some(run) => decide(req.reprocess, &run.state, &run.run_id),
            };
            Planned {
                logical_date: info.logical_date,
                data_interval: info.data_interval,
                action,
            }
        })
        .collect())
}

/// Airflow's `_get_dag_run_no_create_reason`: a queued or running run is in
/// flight; a finished one is re-run when the reprocess behaviour covers its
/// state.
fn decide(reprocess: Reprocess, state: &str, run_id: &str) -> Action {
    let skip = |reason| Action::Skip {
        run_id: run_id.to_owned(),
        reason,
    };
    match (state, reprocess) {
        ("success" | "failed", Reprocess::Completed) | ("failed", Reprocess::Failed) => {
            Action::Rerun {
                run_id: run_id.to_owned(),
            }
        }
        ("success" | "failed", _) => skip(NotCreated::AlreadyExists),
        _ => skip(NotCreated::InFlight),
    }
}

/// The timetable's runs with a logical date in `[from, to]` whose data
/// interval has ended by `now` (Airflow's `iter_dagrun_infos_between` with
/// catchup, then `data_interval.end < now`), oldest first.
pub fn planned_runs(
    schedule: &DagSchedule,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<RunInfo>> {
    let restriction = TimeRestriction {
        earliest: Some(from),
        latest: Some(to),
        catchup: true,
    };
    let horizon = to.max(now);
    let mut out = Vec::new();
    let mut last: Option<DataInterval> = None;
    while let Some(info) = schedule
        .timetable
        .next_dagrun_info(last.as_ref(), &restriction, horizon)
    {
        // Past the range, or a timetable that repeats itself (@once).
        if info.logical_date > to || Some(info.data_interval) == last {
            break;
        }
        if out.len() >= MAX_PLANNED_RUNS {
            return Err(Error::InvalidBackfill(format!(
                "the range holds more than {MAX_PLANNED_RUNS} runs: backfill a shorter one"
            )));
        }
        // Intervals only grow: once one has not ended, none after it has,
        // so a range far in the future ends here rather than walking it.
        if info.data_interval.end >= now {
            break;
        }
        last = Some(info.data_interval);
        out.push(info);
    }
    Ok(out)
}

// ------------------------------------------------------------ controls

/// Which control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Pause,
    Unpause,
    Cancel,
}

impl Control {
    fn event(self) -> &'static str {
        match self {
            Self::Pause => "pause_backfill",
            Self::Unpause => "unpause_backfill",
            Self::Cancel => "cancel_backfill",
        }
    }
}

/// Pauses an active backfill: the scheduler starts none of its runs until it
/// is resumed (running ones go on).
pub async fn pause(pool: &PgPool, id: i64, by_user: &str) -> Result<BackfillRow> {
    control(pool, id, Control::Pause, by_user, Utc::now()).await
}

/// Resumes a paused backfill.
pub async fn unpause(pool: &PgPool, id: i64, by_user: &str) -> Result<BackfillRow> {
    control(pool, id, Control::Unpause, by_user, Utc::now()).await
}

/// Cancels an active backfill (Airflow's semantics): its queued runs fail,
/// running ones finish, the backfill is completed.
pub async fn cancel(
    pool: &PgPool,
    id: i64,
    by_user: &str,
    now: DateTime<Utc>,
) -> Result<BackfillRow> {
    control(pool, id, Control::Cancel, by_user, now).await
}

async fn control(
    pool: &PgPool,
    id: i64,
    what: Control,
    by_user: &str,
    now: DateTime<Utc>,
) -> Result<BackfillRow> {
    let mut tx = pool.begin().await?;
    let Some(before) = backfills::get(&mut tx, id).await? else {
        return Err(Error::BackfillNotFound(id));
    };
    if before.completed_at.is_some() {
        return Err(Error::BackfillCompleted(id));
    }
    let failed = match what {
        Control::Pause => {
            backfills::set_paused(&mut tx, id, true).await?;
            None
        }
        Control::Unpause => {
            backfills::set_paused(&mut tx, id, false).await?;
            None
        }
        Control::Cancel => backfills::cancel(&mut tx, id, now).await?,
    };
    audit::record(
        &mut tx,
        &AuditEntry {
            event: what.event(),
            owner: by_user,
            dag_id: Some(&before.dag_id),
            extra: serde_json::json!({ "backfill_id": id, "runs_failed": failed }),
        },
    )
    .await?;
    if what == Control::Unpause {
        events::notify(&mut tx, events::RUN_QUEUED).await?;
    }
    let after = backfills::get(&mut tx, id)
        .await?
        .ok_or(Error::BackfillNotFound(id))?;
    tx.commit().await?;
    tracing::info!(backfill_id = id, event = what.event(), "backfill changed");
    Ok(after)
}

// ------------------------------------------------------------ scheduler pass

/// Starts the next queued runs of every active, unpaused backfill within its
/// `max_active_runs`, in `sort_ordinal` order. Returns how many started.
pub async fn start_runs(pool: &PgPool, now: DateTime<Utc>) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let started = backfills::start_queued_runs(&mut tx, now).await?;
    tx.commit().await?;
    for (dag_id, run_id) in &started {
        tracing::info!(%dag_id, %run_id, "started backfill run");
    }
    Ok(started.len())
}

/// Marks completed the backfills whose runs have all finished. Returns how
/// many.
pub async fn complete_finished(pool: &PgPool, now: DateTime<Utc>) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let done = backfills::complete_finished(&mut tx, now).await?;
    tx.commit().await?;
    for id in &done {
        tracing::info!(backfill_id = id, "backfill completed");
    }
    Ok(done.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Invariant: Airflow's reprocess table: in-flight runs are never
    // touched, `none` keeps finished runs, `failed` re-runs failed only.
    #[test]
    fn reprocess_decisions_follow_airflow() {
        let d = |r, s| decide(r, s, "x");
        let rerun = Action::Rerun { run_id: "x".into() };
        let skip = |reason| Action::Skip {
            run_id: "x".into(),
            reason,
        };
        assert_eq!(
            d(Reprocess::None, "success"),
            skip(NotCreated::AlreadyExists)
        );
        assert_eq!(
            d(Reprocess::None, "failed"),
            skip(NotCreated::AlreadyExists)
        );
        assert_eq!(d(Reprocess::Failed, "failed"), rerun);
        assert_eq!(
            d(Reprocess::Failed, "success"),
            skip(NotCreated::AlreadyExists)
        );
        assert_eq!(d(Reprocess::Completed, "success"), rerun);
        assert_eq!(d(Reprocess::Completed, "failed"), rerun);
        for r in [Reprocess::None, Reprocess::Failed, Reprocess::Completed] {
            assert_eq!(d(r, "running"), skip(NotCreated::InFlight));
            assert_eq!(d(r, "queued"), skip(NotCreated::InFlight));
        }
    }
}
