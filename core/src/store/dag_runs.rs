//! The DAG run table group: `dag_run`, and the scheduling columns of the
//! `dag` row (`is_paused`, `next_dagrun*`) that run creation reads and keeps
//! up to date.
//!
//! Uniqueness is the database's job: `UNIQUE (dag_id, run_id)` and the partial
//! unique index on `(dag_id, logical_date)` for scheduled and backfill runs.
//! [`insert`] uses `ON CONFLICT DO NOTHING`, so two schedulers racing for the
//! same interval create it once and the loser is told, not failed.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use crate::model::SerializedDag;

use crate::Result;

/// Why a DAG run exists (`dag_run.run_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunType {
    Scheduled,
    Manual,
    Backfill,
}

impl RunType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Manual => "manual",
            Self::Backfill => "backfill",
        }
    }

    /// Airflow's `DagRun.generate_run_id`: `scheduled__2024-01-01T00:00:00+00:00`.
    pub fn run_id(self, at: DateTime<Utc>) -> String {
        format!("{}__{}", self.as_str(), python_isoformat(at))
    }
}

/// `datetime.isoformat()` of an aware UTC datetime, as Airflow prints dates:
/// `+00:00`, microseconds only when non-zero.
pub fn python_isoformat(at: DateTime<Utc>) -> String {
    let micros = at.timestamp_subsec_micros();
    let base = at.format("%Y-%m-%dT%H:%M:%S");
    if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{micros:06}+00:00")
    }
}

/// A DAG run to create. The run is `queued`, on the DAG's current version.
#[derive(Debug, Clone)]
pub struct NewDagRun {
    pub dag_id: String,
    pub run_id: String,
    pub run_type: RunType,
    pub logical_date: Option<DateTime<Utc>>,
    /// `(start, end)`.
    pub data_interval: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub run_after: DateTime<Utc>,
    pub conf: Value,
    /// `cli`, `scheduler`, `rest_api`…
    pub triggered_by: &'static str,
}

/// A run just created: what its task instances need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedRun {
    pub id: i64,
    pub dag_version_id: Option<i64>,
}

/// Inserts a run unless one with the same run id (or, for scheduled and
/// backfill runs, the same logical date) exists. `None`: it existed.
pub async fn insert(conn: &mut PgConnection, run: &NewDagRun) -> Result<Option<CreatedRun>> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "INSERT INTO dag_run (dag_id, run_id, run_type, logical_date, data_interval_start,
                              data_interval_end, run_after, state, conf, queued_at,
                              dag_version_id, triggered_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, now(),
                 (SELECT dag_version_id FROM serialized_dag WHERE dag_id = $1), $9)
         ON CONFLICT DO NOTHING
         RETURNING id, dag_version_id",
    )
    .bind(&run.dag_id)
    .bind(&run.run_id)
    .bind(run.run_type.as_str())
    .bind(run.logical_date)
    .bind(run.data_interval.map(|(s, _)| s))
    .bind(run.data_interval.map(|(_, e)| e))
    .bind(run.run_after)
    .bind(&run.conf)
    .bind(run.triggered_by)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, dag_version_id)| CreatedRun { id, dag_version_id }))
}

fn iso<S: Serializer>(at: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, false))
}

fn iso_opt<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match at {
        Some(at) => iso(at, s),
        None => s.serialize_none(),
    }
}

/// A row of `dags list-runs`; dates in ISO 8601 with a `+00:00` offset.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DagRunRow {
    pub dag_id: String,
    pub run_id: String,
    pub run_type: String,
    pub state: String,
    #[serde(serialize_with = "iso_opt")]
    pub logical_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "iso_opt")]
    pub data_interval_start: Option<DateTime<Utc>>,
    #[serde(serialize_with = "iso_opt")]
    pub data_interval_end: Option<DateTime<Utc>>,
    #[serde(serialize_with = "iso")]
    pub run_after: DateTime<Utc>,
    #[serde(serialize_with = "iso_opt")]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "iso_opt")]
    pub end_date: Option<DateTime<Utc>>,
    pub conf: Value,
    pub triggered_by: Option<String>,
}

const RUN_COLUMNS: &str = "dag_id, run_id, run_type, state, logical_date, data_interval_start,
    data_interval_end, run_after, start_date, end_date, conf, triggered_by";

/// The runs of a DAG, newest first (`dags list-runs`).
pub async fn list(pool: &PgPool, dag_id: &str) -> Result<Vec<DagRunRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM dag_run WHERE dag_id = $1
          ORDER BY run_after DESC, logical_date DESC NULLS LAST, id DESC"
    )))
    .bind(dag_id)
    .fetch_all(pool)
    .await?)
}

/// One run by its run id.
pub async fn get(conn: &mut PgConnection, dag_id: &str, run_id: &str) -> Result<Option<DagRunRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM dag_run WHERE dag_id = $1 AND run_id = $2"
    )))
    .bind(dag_id)
    .bind(run_id)
    .fetch_optional(conn)
    .await?)
}

/// The data interval of the latest automated (scheduled or backfill) run:
/// what the timetable continues from. Manual runs do not count, as in Airflow.
pub async fn last_automated_interval(
    conn: &mut PgConnection,
    dag_id: &str,
) -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    type Bounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let row: Option<Bounds> = sqlx::query_as(
        "SELECT data_interval_start, data_interval_end FROM dag_run
          WHERE dag_id = $1 AND run_type IN ('scheduled', 'backfill')
          ORDER BY logical_date DESC NULLS LAST, id DESC LIMIT 1",
    )
    .bind(dag_id)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some((Some(start), Some(end))) => Some((start, end)),
        _ => None,
    })
}

/// How many runs of a DAG are queued or running (against `max_active_runs`);
/// an active backfill's runs count against the backfill's own cap instead.
pub async fn count_active(conn: &mut PgConnection, dag_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM dag_run r WHERE dag_id = $1 AND state IN ('queued', 'running')
            AND NOT EXISTS (SELECT 1 FROM backfill b
                             WHERE b.id = r.backfill_id AND b.completed_at IS NULL)",
    )
    .bind(dag_id)
    .fetch_one(conn)
    .await?)
}

// ------------------------------------------------------------ the dag row

/// What run creation needs of a DAG: its row and its current serialized form.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SchedulableDag {
    pub dag_id: String,
    pub max_active_runs: Option<i32>,
    /// Its current version: the serialized DAG is read by id (and cached by
    /// the scheduler, versions being immutable), not with every pass.
    pub dag_version_id: i64,
}

/// Locks up to `limit` active, unpaused DAGs that have a schedule, skipping
/// those another scheduler holds and those in `exclude` (already handled in
/// this pass). Hold the transaction while creating their runs; commit to
/// release them.
pub async fn lock_schedulable(
    conn: &mut PgConnection,
    limit: i64,
    exclude: &[String],
) -> Result<Vec<SchedulableDag>> {
    Ok(sqlx::query_as(
        "SELECT d.dag_id, d.max_active_runs, s.dag_version_id
           FROM dag d
           JOIN serialized_dag s ON s.dag_id = d.dag_id
          WHERE d.is_active AND NOT d.is_paused AND d.schedule->>'type' <> 'none'
            AND NOT (d.dag_id = ANY($2))
          ORDER BY d.next_dagrun_create_after NULLS FIRST, d.dag_id
          LIMIT $1
          FOR UPDATE OF d SKIP LOCKED",
    )
    .bind(limit)
    .bind(exclude)
    .fetch_all(conn)
    .await?)
}

/// The DAG's next automated run as last computed (all `None`: none planned).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NextDagRun {
    pub logical_date: Option<DateTime<Utc>>,
    pub data_interval: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub create_after: Option<DateTime<Utc>>,
}

/// Records the DAG's next automated run (`dag.next_dagrun*`).
pub async fn set_next_dagrun(
    conn: &mut PgConnection,
    dag_id: &str,
    next: &NextDagRun,
) -> Result<()> {
    sqlx::query(
        "UPDATE dag SET next_dagrun = $2, next_dagrun_data_interval_start = $3,
                        next_dagrun_data_interval_end = $4, next_dagrun_create_after = $5
          WHERE dag_id = $1",
    )
    .bind(dag_id)
    .bind(next.logical_date)
    .bind(next.data_interval.map(|(s, _)| s))
    .bind(next.data_interval.map(|(_, e)| e))
    .bind(next.create_after)
    .execute(conn)
    .await?;
    Ok(())
}

/// Pauses or unpauses a DAG. `false`: no such DAG.
pub async fn set_paused(conn: &mut PgConnection, dag_id: &str, paused: bool) -> Result<bool> {
    let done = sqlx::query("UPDATE dag SET is_paused = $2 WHERE dag_id = $1")
        .bind(dag_id)
        .bind(paused)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One version of a serialized DAG, typed (`None`: no such version).
pub async fn version_dag(
    conn: &mut PgConnection,
    version_id: i64,
) -> Result<Option<SerializedDag>> {
    let row: Option<Json<SerializedDag>> =
        sqlx::query_scalar("SELECT data FROM dag_version WHERE id = $1")
            .bind(version_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|Json(dag)| dag))
}

/// The id of the DAG's current version.
pub async fn current_version_id(conn: &mut PgConnection, dag_id: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT dag_version_id FROM serialized_dag WHERE dag_id = $1")
            .bind(dag_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// The current serialized DAG and its version, for a manual run.
pub async fn current_version(
    conn: &mut PgConnection,
    dag_id: &str,
) -> Result<Option<(i64, SerializedDag)>> {
    let row: Option<(i64, Json<SerializedDag>)> = sqlx::query_as(
        "SELECT s.dag_version_id, v.data FROM serialized_dag s
           JOIN dag_version v ON v.id = s.dag_version_id
          WHERE s.dag_id = $1",
    )
    .bind(dag_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, Json(dag))| (id, dag)))
}

// ------------------------------------------------------------ running runs

/// Locks the `dag` rows of unpaused DAGs that have queued runs, skipping
/// those another scheduler holds: the caller then starts their runs with
/// [`start_queued`] in the same transaction, so two schedulers never both
/// fill the same DAG's `max_active_runs`.
pub async fn lock_dags_with_queued_runs(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT d.dag_id FROM dag d
          WHERE NOT d.is_paused
            AND EXISTS (SELECT 1 FROM dag_run r WHERE r.dag_id = d.dag_id AND r.state = 'queued')
          ORDER BY d.dag_id
          LIMIT $1
          FOR UPDATE OF d SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// `queued` → `running` (with `start_date = now`) for the oldest queued runs
/// of `dag_ids`, as many per DAG as its `max_active_runs` (or
/// `default_max_active_runs`) leaves room for beside its running runs.
/// Returns `(dag_id, run_id)` of the runs started.
pub async fn start_queued(
    conn: &mut PgConnection,
    dag_ids: &[String],
    default_max_active_runs: i64,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "WITH ranked AS (
             SELECT r.id,
                    row_number() OVER (PARTITION BY r.dag_id
                                       ORDER BY r.run_after, r.logical_date NULLS LAST, r.id) AS n,
                    COALESCE(d.max_active_runs, $2)
                      - (SELECT count(*) FROM dag_run x
                          WHERE x.dag_id = r.dag_id AND x.state = 'running'
                            AND NOT EXISTS (SELECT 1 FROM backfill b
                                             WHERE b.id = x.backfill_id
                                               AND b.completed_at IS NULL)) AS room
               FROM dag_run r JOIN dag d ON d.dag_id = r.dag_id
              WHERE r.state = 'queued' AND r.dag_id = ANY($1) AND NOT d.is_paused
                -- An active backfill starts its own runs (store::backfills).
                AND NOT EXISTS (SELECT 1 FROM backfill b
                                 WHERE b.id = r.backfill_id AND b.completed_at IS NULL))
         UPDATE dag_run r SET state = 'running', start_date = $3, updated_at = now()
           FROM ranked
          WHERE r.id = ranked.id AND ranked.n <= ranked.room AND r.state = 'queued'
         RETURNING r.dag_id, r.run_id",
    )
    .bind(dag_ids)
    .bind(default_max_active_runs)
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// A running run, locked, with the version of the DAG it runs on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LockedRun {
    pub id: i64,
    pub dag_id: String,
    pub run_id: String,
    pub start_date: Option<DateTime<Utc>>,
    /// The run's DAG version (the DAG's current one when the run has none);
    /// read with [`version_dag`].
    pub dag_version_id: i64,
}

/// Locks up to `limit` running runs of unpaused DAGs (as in Airflow, a paused
/// DAG's runs wait) not in `exclude`, skipping runs another
/// scheduler holds (`FOR UPDATE SKIP LOCKED`), oldest first. Hold the
/// transaction while deciding their task instances; commit to release.
pub async fn lock_running(
    conn: &mut PgConnection,
    limit: i64,
    exclude: &[i64],
) -> Result<Vec<LockedRun>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.dag_id, r.run_id, r.start_date,
                COALESCE(r.dag_version_id, s.dag_version_id) AS dag_version_id
           FROM dag_run r
           JOIN dag d ON d.dag_id = r.dag_id
           LEFT JOIN serialized_dag s ON s.dag_id = r.dag_id
          WHERE COALESCE(r.dag_version_id, s.dag_version_id) IS NOT NULL
            AND r.state = 'running' AND NOT d.is_paused AND NOT (r.id = ANY($2))
          ORDER BY r.last_scheduling_decision NULLS FIRST, r.id
          LIMIT $1
          FOR UPDATE OF r SKIP LOCKED",
    )
    .bind(limit)
    .bind(exclude)
    .fetch_all(conn)
    .await?)
}

/// Notes that the scheduler examined the run (`last_scheduling_decision`),
/// so the next pass starts with the runs examined longest ago.
pub async fn touch_scheduling_decision(
    conn: &mut PgConnection,
    id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE dag_run SET last_scheduling_decision = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Success,
    Failed,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }
}

/// `running` → `success`/`failed` with `end_date = now`. `false`: the run
/// was not running (someone else ended it).
pub async fn finish(
    conn: &mut PgConnection,
    id: i64,
    outcome: RunOutcome,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE dag_run SET state = $2, end_date = $3, updated_at = now()
          WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .bind(outcome.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The run before `(dag_id, run_id)` by logical date, for `depends_on_past`:
/// Airflow's `get_previous_dagrun`, or with `scheduled_only`
/// `get_previous_scheduled_dagrun` (manual runs left out). Its run id and
/// logical date; `None` for the first run or a run without a logical date.
pub async fn previous_run(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
    scheduled_only: bool,
) -> Result<Option<(String, DateTime<Utc>)>> {
    Ok(sqlx::query_as(
        "SELECT p.run_id, p.logical_date FROM dag_run p
           JOIN dag_run r ON r.dag_id = p.dag_id AND r.run_id = $2
          WHERE p.dag_id = $1 AND p.logical_date < r.logical_date
            AND (NOT $3 OR p.run_type <> 'manual')
          ORDER BY p.logical_date DESC LIMIT 1",
    )
    .bind(dag_id)
    .bind(run_id)
    .bind(scheduled_only)
    .fetch_optional(conn)
    .await?)
}

// ------------------------------------------------------------ by hand (CLI)

/// Cleared task instances run again: their runs go back to `queued` (from
/// any state) with no start or end date and `clear_number + 1`, so the
/// scheduler starts them within `max_active_runs` (Airflow's `clear` with
/// `dag_run_state=QUEUED`). Returns how many runs changed.
pub async fn requeue_cleared(
    conn: &mut PgConnection,
    dag_id: &str,
    run_ids: &[String],
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE dag_run SET state = 'queued', queued_at = now(), start_date = NULL,
                end_date = NULL, last_scheduling_decision = NULL,
                clear_number = clear_number + 1, updated_at = now()
          WHERE dag_id = $1 AND run_id = ANY($2)",
    )
    .bind(dag_id)
    .bind(run_ids)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A state a person may give a run (Airflow's `DAGRunPatchStates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStateByHand {
    Queued,
    Success,
    Failed,
}

impl RunStateByHand {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }
}

/// A person sets a run's state (Airflow's `set_dag_run_state_to_*`): success
/// and failed end it now; queued sends it back to be started. `false`: no
/// such run.
pub async fn set_state_by_hand(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
    state: RunStateByHand,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE dag_run
            SET state = $3,
                end_date = CASE WHEN $3 = 'queued' THEN NULL ELSE now() END,
                start_date = CASE WHEN $3 = 'queued' THEN NULL ELSE COALESCE(start_date, now()) END,
                queued_at = CASE WHEN $3 = 'queued' THEN now() ELSE queued_at END,
                last_scheduling_decision = NULL, updated_at = now()
          WHERE dag_id = $1 AND run_id = $2",
    )
    .bind(dag_id)
    .bind(run_id)
    .bind(state.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Locks one running run (paused DAG or not) with the serialized DAG it
/// runs on, for `dags test`, which schedules its own run in-process.
pub async fn lock_one_running(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
) -> Result<Option<LockedRun>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.dag_id, r.run_id, r.start_date,
                COALESCE(r.dag_version_id, s.dag_version_id) AS dag_version_id
           FROM dag_run r
           LEFT JOIN serialized_dag s ON s.dag_id = r.dag_id
          WHERE COALESCE(r.dag_version_id, s.dag_version_id) IS NOT NULL
            AND r.dag_id = $1 AND r.run_id = $2 AND r.state = 'running'
          FOR UPDATE OF r",
    )
    .bind(dag_id)
    .bind(run_id)
    .fetch_optional(conn)
    .await?)
}

/// `queued` → `running` for one run regardless of pause and
/// `max_active_runs` (`dags test`). `false`: it was not queued.
pub async fn start_one(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE dag_run SET state = 'running', start_date = $3, updated_at = now()
          WHERE dag_id = $1 AND run_id = $2 AND state = 'queued'",
    )
    .bind(dag_id)
    .bind(run_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes one run with its task instances, their logs, XComs and history
/// (all cascade). `false`: there was none.
pub async fn delete(conn: &mut PgConnection, dag_id: &str, run_id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM dag_run WHERE dag_id = $1 AND run_id = $2")
        .bind(dag_id)
        .bind(run_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the runs of a DAG at a logical date (`dags test` replaces the
/// run it tests, as Airflow's `_get_or_create_dagrun` does). Returns how
/// many.
pub async fn delete_at(conn: &mut PgConnection, dag_id: &str, at: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query("DELETE FROM dag_run WHERE dag_id = $1 AND logical_date = $2")
        .bind(dag_id)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// A run named by its run id or, failing that, its logical date (Airflow's
/// `LOGICAL_DATE_OR_RUN_ID` arguments): the newest run at that date.
pub async fn find_by_id_or_date(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
    logical_date: Option<DateTime<Utc>>,
) -> Result<Option<DagRunRow>> {
    if let Some(row) = get(&mut *conn, dag_id, run_id).await? {
        return Ok(Some(row));
    }
    let Some(at) = logical_date else {
        return Ok(None);
    };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM dag_run WHERE dag_id = $1 AND logical_date = $2
          ORDER BY id DESC LIMIT 1"
    )))
    .bind(dag_id)
    .bind(at)
    .fetch_optional(conn)
    .await?)
}

/// The states of the runs of `dag_id` at `logical_date` (ExternalTaskSensor
/// waiting for a whole DAG).
pub async fn states_at_logical_date(
    conn: &mut PgConnection,
    dag_id: &str,
    logical_date: DateTime<Utc>,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT state FROM dag_run WHERE dag_id = $1 AND logical_date = $2 ORDER BY run_id",
    )
    .bind(dag_id)
    .bind(logical_date)
    .fetch_all(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn run_ids_follow_airflow() {
        let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single();
        let at = at.expect("valid date");
        assert_eq!(
            RunType::Scheduled.run_id(at),
            "scheduled__2024-01-01T00:00:00+00:00"
        );
        let at = at + chrono::TimeDelta::microseconds(1500);
        assert_eq!(
            RunType::Manual.run_id(at),
            "manual__2024-01-01T00:00:00.001500+00:00"
        );
    }
}
