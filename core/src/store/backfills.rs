//! Backfills (Airflow 3's model): the `backfill` row, its planned dates in
//! `backfill_dag_run`, and the writes to `dag_run` that only a backfill makes
//! (attaching a run to it, starting its queued runs within its own
//! `max_active_runs`, failing its unstarted runs on cancel).
//!
//! One active backfill per DAG is the database's rule
//! (`backfill_one_active_per_dag`): [`insert`] reports a conflict as
//! [`Inserted::AlreadyRunning`], not as an error.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use crate::Result;

/// Airflow's `ReprocessBehavior`: what a backfill does with a date that
/// already has a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reprocess {
    /// "Missing Runs": skip it.
    #[default]
    None,
    /// "Missing and Errored Runs": clear and re-run it if it failed.
    Failed,
    /// "All Runs": clear and re-run it if it finished.
    Completed,
}

impl Reprocess {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Failed => "failed",
            Self::Completed => "completed",
        }
    }

    /// Airflow's values (`none`, `failed`, `completed`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "failed" => Some(Self::Failed),
            "completed" => Some(Self::Completed),
            _ => None,
        }
    }

    /// The UI's label.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "Missing Runs",
            Self::Failed => "Missing and Errored Runs",
            Self::Completed => "All Runs",
        }
    }
}

/// A backfill to insert.
#[derive(Debug, Clone)]
pub struct NewBackfill<'a> {
    pub dag_id: &'a str,
    pub from_date: DateTime<Utc>,
    pub to_date: DateTime<Utc>,
    pub dag_run_conf: &'a Value,
    pub reprocess: Reprocess,
    pub max_active_runs: i32,
    pub run_backwards: bool,
    pub triggering_user: Option<&'a str>,
}

/// The outcome of [`insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Created(i64),
    /// The DAG has an active (not completed) backfill already.
    AlreadyRunning,
}

/// Inserts a backfill (`None` of its runs yet).
pub async fn insert(conn: &mut PgConnection, b: &NewBackfill<'_>) -> Result<Inserted> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO backfill (dag_id, from_date, to_date, dag_run_conf, reprocess_behavior,
                               max_active_runs, run_backwards, triggering_user)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (dag_id) WHERE completed_at IS NULL DO NOTHING
         RETURNING id",
    )
    .bind(b.dag_id)
    .bind(b.from_date)
    .bind(b.to_date)
    .bind(b.dag_run_conf)
    .bind(b.reprocess.as_str())
    .bind(b.max_active_runs)
    .bind(b.run_backwards)
    .bind(b.triggering_user)
    .fetch_optional(conn)
    .await?;
    Ok(id.map_or(Inserted::AlreadyRunning, Inserted::Created))
}

/// Why a planned date got no run of the backfill (`exception_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCreated {
    /// A run at that date is queued or running: never touched.
    InFlight,
    /// A finished run at that date is kept (reprocess behaviour).
    AlreadyExists,
}

impl NotCreated {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InFlight => "in_flight",
            Self::AlreadyExists => "already_exists",
        }
    }
}

/// One planned date of a backfill.
#[derive(Debug, Clone)]
pub struct BackfillDagRun {
    pub logical_date: DateTime<Utc>,
    pub sort_ordinal: i32,
    /// The run the backfill created or re-queued (`None` when not created).
    pub dag_run_id: Option<i64>,
    pub not_created: Option<NotCreated>,
}

pub async fn insert_dag_run(
    conn: &mut PgConnection,
    backfill_id: i64,
    row: &BackfillDagRun,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO backfill_dag_run (backfill_id, dag_run_id, logical_date, sort_ordinal,
                                       exception_reason)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(backfill_id)
    .bind(row.dag_run_id)
    .bind(row.logical_date)
    .bind(row.sort_ordinal)
    .bind(row.not_created.map(NotCreated::as_str))
    .execute(conn)
    .await?;
    Ok(())
}

/// A run that exists at a logical date, as a backfill sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExistingRun {
    pub id: i64,
    pub run_id: String,
    pub state: String,
    pub logical_date: DateTime<Utc>,
}

/// The runs of `dag_id` at `dates` (the newest per date), any run type.
pub async fn existing_runs(
    conn: &mut PgConnection,
    dag_id: &str,
    dates: &[DateTime<Utc>],
) -> Result<Vec<ExistingRun>> {
    Ok(sqlx::query_as(
        "SELECT DISTINCT ON (logical_date) id, run_id, state, logical_date
           FROM dag_run WHERE dag_id = $1 AND logical_date = ANY($2)
          ORDER BY logical_date, id DESC",
    )
    .bind(dag_id)
    .bind(dates)
    .fetch_all(conn)
    .await?)
}

/// The id of run `run_id` of `dag_id`.
pub async fn existing_run_id(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM dag_run WHERE dag_id = $1 AND run_id = $2")
            .bind(dag_id)
            .bind(run_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// Makes run `dag_run_id` one of the backfill's (a new run, or an existing
/// one it re-runs): Airflow sets the backfill, run type and trigger too.
pub async fn attach_run(
    conn: &mut PgConnection,
    dag_run_id: i64,
    backfill_id: i64,
    triggering_user: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE dag_run SET backfill_id = $2, run_type = 'backfill', triggered_by = 'backfill',
                            triggering_user = $3, updated_at = now()
          WHERE id = $1",
    )
    .bind(dag_run_id)
    .bind(backfill_id)
    .bind(triggering_user)
    .execute(conn)
    .await?;
    Ok(())
}

/// A backfill with its progress, as lists and pages show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BackfillRow {
    pub id: i64,
    pub dag_id: String,
    pub from_date: DateTime<Utc>,
    pub to_date: DateTime<Utc>,
    pub dag_run_conf: Value,
    pub is_paused: bool,
    pub reprocess_behavior: String,
    pub max_active_runs: i32,
    pub run_backwards: bool,
    pub triggering_user: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Runs of the backfill that finished (success or failed).
    pub done: i64,
    pub succeeded: i64,
    /// Runs the backfill created or re-queued.
    pub total: i64,
}

const SELECT_WITH_PROGRESS: &str =
    "SELECT b.id, b.dag_id, b.from_date, b.to_date, b.dag_run_conf, b.is_paused,
            b.reprocess_behavior, b.max_active_runs, b.run_backwards, b.triggering_user,
            b.created_at, b.completed_at,
            count(r.id) FILTER (WHERE r.state IN ('success', 'failed')) AS done,
            count(r.id) FILTER (WHERE r.state = 'success') AS succeeded,
            count(r.id) AS total
       FROM backfill b
       LEFT JOIN backfill_dag_run bdr ON bdr.backfill_id = b.id
       LEFT JOIN dag_run r ON r.id = bdr.dag_run_id";

/// One backfill by id.
pub async fn get(conn: &mut PgConnection, id: i64) -> Result<Option<BackfillRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_WITH_PROGRESS} WHERE b.id = $1 GROUP BY b.id"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// The backfills of one DAG (`Some`) or of all DAGs, newest first.
pub async fn list(conn: &mut PgConnection, dag_id: Option<&str>) -> Result<Vec<BackfillRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_WITH_PROGRESS} WHERE ($1::text IS NULL OR b.dag_id = $1)
          GROUP BY b.id ORDER BY b.created_at DESC, b.id DESC LIMIT 200"
    )))
    .bind(dag_id)
    .fetch_all(conn)
    .await?)
}

/// The DAG's active backfill, if any.
pub async fn active_for_dag(conn: &mut PgConnection, dag_id: &str) -> Result<Option<BackfillRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_WITH_PROGRESS} WHERE b.dag_id = $1 AND b.completed_at IS NULL GROUP BY b.id"
    )))
    .bind(dag_id)
    .fetch_optional(conn)
    .await?)
}

/// The planned dates of a backfill in `sort_ordinal` order, with the state
/// of their runs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlannedRow {
    pub logical_date: DateTime<Utc>,
    pub sort_ordinal: i32,
    pub exception_reason: Option<String>,
    pub run_id: Option<String>,
    pub state: Option<String>,
}

pub async fn planned(conn: &mut PgConnection, backfill_id: i64) -> Result<Vec<PlannedRow>> {
    Ok(sqlx::query_as(
        "SELECT bdr.logical_date, bdr.sort_ordinal, bdr.exception_reason, r.run_id, r.state
           FROM backfill_dag_run bdr LEFT JOIN dag_run r ON r.id = bdr.dag_run_id
          WHERE bdr.backfill_id = $1 ORDER BY bdr.sort_ordinal",
    )
    .bind(backfill_id)
    .fetch_all(conn)
    .await?)
}

/// Pauses or resumes an active backfill. `false`: no such active backfill,
/// or it was in that state already.
pub async fn set_paused(conn: &mut PgConnection, id: i64, paused: bool) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE backfill SET is_paused = $2, updated_at = now()
          WHERE id = $1 AND completed_at IS NULL AND is_paused <> $2",
    )
    .bind(id)
    .bind(paused)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Airflow's cancel: the backfill's runs that have not started (queued)
/// fail, running ones finish on their own, and the backfill is completed
/// (and paused). `None`: no such active backfill; else how many runs failed.
pub async fn cancel(conn: &mut PgConnection, id: i64, now: DateTime<Utc>) -> Result<Option<u64>> {
    let locked: Option<i64> = sqlx::query_scalar(
        "UPDATE backfill SET is_paused = true, completed_at = $2, updated_at = now()
          WHERE id = $1 AND completed_at IS NULL RETURNING id",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if locked.is_none() {
        return Ok(None);
    }
    let failed = sqlx::query(
        "UPDATE dag_run SET state = 'failed', end_date = $2, updated_at = now()
          WHERE backfill_id = $1 AND state = 'queued'
            AND id IN (SELECT dag_run_id FROM backfill_dag_run WHERE backfill_id = $1)",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(Some(failed.rows_affected()))
}

/// `queued` → `running` for the queued runs of active, unpaused backfills
/// of unpaused DAGs, in `sort_ordinal` order, as many per backfill as its
/// `max_active_runs` leaves room for beside its running runs. The backfill
/// rows are locked (`SKIP LOCKED`) so two schedulers never both fill one.
/// Returns `(dag_id, run_id)` of the runs started.
pub async fn start_queued_runs(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "WITH b AS (
             SELECT b.id, b.max_active_runs FROM backfill b JOIN dag d ON d.dag_id = b.dag_id
              WHERE b.completed_at IS NULL AND NOT b.is_paused AND NOT d.is_paused
                AND EXISTS (SELECT 1 FROM dag_run r WHERE r.backfill_id = b.id
                                                      AND r.state = 'queued')
              ORDER BY b.id
              FOR UPDATE OF b SKIP LOCKED),
         ranked AS (
             SELECT r.id,
                    row_number() OVER (PARTITION BY b.id ORDER BY bdr.sort_ordinal) AS n,
                    b.max_active_runs - (SELECT count(*) FROM dag_run x
                                          WHERE x.backfill_id = b.id
                                            AND x.state = 'running') AS room
               FROM b
               JOIN backfill_dag_run bdr ON bdr.backfill_id = b.id
               JOIN dag_run r ON r.id = bdr.dag_run_id
              WHERE r.state = 'queued' AND r.backfill_id = b.id)
         UPDATE dag_run r SET state = 'running', start_date = $1, updated_at = now()
           FROM ranked
          WHERE r.id = ranked.id AND ranked.n <= ranked.room AND r.state = 'queued'
         RETURNING r.dag_id, r.run_id",
    )
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// Marks completed the active backfills none of whose runs is queued or
/// running any more. Returns their ids.
pub async fn complete_finished(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE backfill b SET completed_at = $1, updated_at = now()
          WHERE b.completed_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM backfill_dag_run bdr
                              JOIN dag_run r ON r.id = bdr.dag_run_id
                             WHERE bdr.backfill_id = b.id AND r.state IN ('queued', 'running'))
         RETURNING b.id",
    )
    .bind(now)
    .fetch_all(conn)
    .await?)
}
