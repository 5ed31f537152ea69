//! Task-instance state transitions: each one guarded statement on
//! `task_instance` that says which states it may leave, returning a typed
//! [`Transition`]; zero rows is reported ([`Transition::Refused`] with the
//! state found, or [`Transition::NotFound`]), never ignored.
//!
//! The life of a try: `None` → `scheduled` ([`set_scheduled`]) → `queued`
//! ([`queue_scheduled`], within pool slots and `max_active_tasks`) → `running`
//! ([`claim`], under a lease that [`heartbeat`] extends) → a final state
//! ([`finish`], fenced by worker and try number). A lease that runs out is
//! reaped ([`reap_expired_leases`]); people mark states by hand ([`mark`]) or
//! clear them to run again ([`clear`]).
//! Finished tries leave a `task_instance_history` row, written by the same
//! statement that ends the try.
//!
//! Callers run these in READ COMMITTED transactions (Postgres' default):
//! [`queue_scheduled`] counts slots after locking the pool rows and relies on
//! each statement seeing what the previous lock holder committed.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::Result;
use crate::model::state::TaskInstanceState;

mod deferred;
mod manual;
mod queue;
mod running;

pub use deferred::{defer, resume_deferred};
pub use manual::{ClearTarget, clear, mark};
pub use queue::{DEFAULT_MAX_ACTIVE_TASKS, queue_scheduled};
pub use running::{
    claim, claim_in_run, claim_one_for_test, finish, first_poke_of_try, heartbeat,
    reap_expired_leases, reschedule,
};

/// What a guarded transition did.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition<T> {
    Applied(T),
    /// The row exists but its state (or owner, or try) did not allow it.
    Refused {
        current_state: Option<TaskInstanceState>,
    },
    NotFound,
}

impl<T> Transition<T> {
    pub fn is_applied(&self) -> bool {
        matches!(self, Self::Applied(_))
    }
}

/// Who may write a running try: its worker, for that try only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub ti_id: Uuid,
    pub worker_id: Uuid,
    pub try_number: i32,
}

/// How a worker ends a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishOutcome {
    Success,
    Failed,
    Skipped,
    /// Becomes `failed` when no tries are left (`try_number > max_tries`).
    UpForRetry {
        next_retry_at: DateTime<Utc>,
    },
}

/// What a person may set by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkAs {
    Success,
    Failed,
    Skipped,
}

impl MarkAs {
    pub(crate) fn state(self) -> TaskInstanceState {
        match self {
            Self::Success => TaskInstanceState::Success,
            Self::Failed => TaskInstanceState::Failed,
            Self::Skipped => TaskInstanceState::Skipped,
        }
    }
}

/// A task instance as the transitions return it.
#[derive(Debug, Clone, PartialEq)]
pub struct TiRow {
    pub id: Uuid,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub map_index: i32,
    pub state: Option<TaskInstanceState>,
    pub try_number: i32,
    pub max_tries: i32,
    pub pool: String,
    pub pool_slots: i32,
    pub queue: String,
    pub priority_weight: i32,
    pub worker_id: Option<Uuid>,
    pub hostname: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub queued_at: Option<DateTime<Utc>>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub duration: Option<f64>,
    pub next_retry_at: Option<DateTime<Utc>>,
}

impl TiRow {
    /// The fence of a claimed try (`None` until a worker owns it).
    pub fn fence(&self) -> Option<Fence> {
        self.worker_id.map(|worker_id| Fence {
            ti_id: self.id,
            worker_id,
            try_number: self.try_number,
        })
    }
}

pub(crate) fn parse_state(value: Option<String>) -> sqlx::Result<Option<TaskInstanceState>> {
    value
        .map(|s| {
            TaskInstanceState::parse(&s).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "state".into(),
                source: format!("unknown task instance state {s:?}").into(),
            })
        })
        .transpose()
}

impl<'r> sqlx::FromRow<'r, PgRow> for TiRow {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            dag_id: row.try_get("dag_id")?,
            run_id: row.try_get("run_id")?,
            task_id: row.try_get("task_id")?,
            map_index: row.try_get("map_index")?,
            state: parse_state(row.try_get("state")?)?,
            try_number: row.try_get("try_number")?,
            max_tries: row.try_get("max_tries")?,
            pool: row.try_get("pool")?,
            pool_slots: row.try_get("pool_slots")?,
            queue: row.try_get("queue")?,
            priority_weight: row.try_get("priority_weight")?,
            worker_id: row.try_get("worker_id")?,
            hostname: row.try_get("hostname")?,
            lease_expires_at: row.try_get("lease_expires_at")?,
            queued_at: row.try_get("queued_at")?,
            start_date: row.try_get("start_date")?,
            end_date: row.try_get("end_date")?,
            duration: row.try_get("duration")?,
            next_retry_at: row.try_get("next_retry_at")?,
        })
    }
}

/// Zero rows updated: say why (the state now), or that the row is gone.
pub(crate) async fn refusal<T>(conn: &mut PgConnection, ti_id: Uuid) -> Result<Transition<T>> {
    let found: Option<Option<String>> =
        sqlx::query_scalar("SELECT state FROM task_instance WHERE id = $1")
            .bind(ti_id)
            .fetch_optional(conn)
            .await?;
    Ok(match found {
        None => Transition::NotFound,
        Some(state) => Transition::Refused {
            current_state: parse_state(state)?,
        },
    })
}

/// A batch transition: `$1` the ids, `$2` now; per id, in the given order,
/// whether it applied or the state it was refused in (read by the same
/// statement, before its update).
macro_rules! batch_sql {
    ($set:literal, $guard:literal) => {
        concat!(
            "WITH upd AS (UPDATE task_instance SET ",
            $set,
            ", updated_at = now() WHERE id = ANY($1) AND (",
            $guard,
            ") RETURNING id)
             SELECT i.id, t.state, u.id IS NOT NULL AS applied, t.id IS NOT NULL AS found
               FROM UNNEST($1::uuid[]) WITH ORDINALITY AS i(id, ord)
               LEFT JOIN task_instance t ON t.id = i.id
               LEFT JOIN upd u ON u.id = i.id
              ORDER BY i.ord"
        )
    };
}

async fn batch(
    conn: &mut PgConnection,
    sql: &'static str,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Transition<()>)>> {
    let rows: Vec<(Uuid, Option<String>, bool, bool)> = sqlx::query_as(sql)
        .bind(ids)
        .bind(now)
        .fetch_all(conn)
        .await?;
    rows.into_iter()
        .map(|(id, state, applied, found)| {
            let outcome = match (found, applied) {
                (false, _) => Transition::NotFound,
                (true, true) => Transition::Applied(()),
                (true, false) => Transition::Refused {
                    current_state: parse_state(state)?,
                },
            };
            Ok((id, outcome))
        })
        .collect()
}

/// `None`, or `up_for_retry`/`up_for_reschedule`/`deferred` whose
/// `next_retry_at` has come, → `scheduled`. As in Airflow 2.10+, this is
/// where a new try is counted (`try_number + 1`), except after a reschedule
/// or a deferral, which go on with the same try. A `deferred` one without
/// `next_retry_at` waits for its event.
pub async fn set_scheduled(
    conn: &mut PgConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Transition<()>)>> {
    let sql = batch_sql!(
        "try_number = try_number
                      + CASE WHEN state IN ('up_for_reschedule', 'deferred') THEN 0 ELSE 1 END,
         state = 'scheduled', next_retry_at = NULL",
        "state IS NULL OR (state IN ('up_for_retry', 'up_for_reschedule')
                           AND (next_retry_at IS NULL OR next_retry_at <= $2))
         OR (state = 'deferred' AND next_retry_at <= $2)"
    );
    batch(conn, sql, ids, now).await
}

/// `None`/`scheduled` → `skipped` (a trigger-rule or branch decision).
pub async fn set_skipped(
    conn: &mut PgConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Transition<()>)>> {
    let sql = batch_sql!(
        "state = 'skipped', start_date = COALESCE(start_date, $2), end_date = $2, duration = 0",
        "state IS NULL OR state = 'scheduled'"
    );
    batch(conn, sql, ids, now).await
}

/// `None`/`scheduled` → `upstream_failed` (the trigger rule can no longer pass).
pub async fn set_upstream_failed(
    conn: &mut PgConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Transition<()>)>> {
    let sql = batch_sql!(
        "state = 'upstream_failed', start_date = COALESCE(start_date, $2), end_date = $2,
         duration = 0",
        "state IS NULL OR state = 'scheduled'"
    );
    batch(conn, sql, ids, now).await
}

/// Branching: the task instances of `task_ids` in one run that have not
/// started (`None`/`scheduled`) → `skipped`. Returns how many moved.
pub async fn skip_in_run(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
    task_ids: &[String],
    now: DateTime<Utc>,
) -> Result<u64> {
    if task_ids.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "UPDATE task_instance
            SET state = 'skipped', start_date = COALESCE(start_date, $4), end_date = $4,
                duration = 0, updated_at = now()
          WHERE dag_id = $1 AND run_id = $2 AND task_id = ANY($3)
            AND (state IS NULL OR state = 'scheduled')",
    )
    .bind(dag_id)
    .bind(run_id)
    .bind(task_ids)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// `dagrun_timeout`: every unfinished task instance of a run (running ones
/// too, whose worker then finds its lease gone) → `skipped`, as Airflow does
/// when it fails a run that ran too long. Returns how many moved.
pub async fn skip_unfinished(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE task_instance
            SET state = 'skipped', start_date = COALESCE(start_date, $3), end_date = $3,
                duration = GREATEST(EXTRACT(EPOCH FROM $3 - COALESCE(start_date, $3))::float8, 0),
                lease_expires_at = NULL, next_retry_at = NULL, updated_at = now()
          WHERE dag_id = $1 AND run_id = $2
            AND (state IS NULL OR state IN ('scheduled', 'queued', 'running', 'up_for_retry',
                                            'up_for_reschedule', 'deferred', 'restarting'))",
    )
    .bind(dag_id)
    .bind(run_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// `None`/`scheduled` → `failed` without running: a mapped task whose
/// expansion is impossible (nothing or no list to map over, too long).
pub async fn set_failed_unstarted(
    conn: &mut PgConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Transition<()>)>> {
    let sql = batch_sql!(
        "state = 'failed', start_date = COALESCE(start_date, $2), end_date = $2, duration = 0",
        "state IS NULL OR state = 'scheduled'"
    );
    batch(conn, sql, ids, now).await
}

/// Dynamic task mapping: the unmapped task instance of a mapped task
/// (`map_index` -1, no state yet) becomes `map_index` 0 and gets `n - 1`
/// siblings (1..n-1) with the same settings and no state, as in Airflow;
/// `n = 0` skips it. Applied: how many task instances the task now has.
pub async fn expand(
    conn: &mut PgConnection,
    ti_id: Uuid,
    n: i32,
    now: DateTime<Utc>,
) -> Result<Transition<i32>> {
    if n <= 0 {
        let out = set_skipped(conn, &[ti_id], now).await?;
        return Ok(match out.into_iter().next() {
            Some((_, Transition::Applied(()))) => Transition::Applied(0),
            Some((_, Transition::Refused { current_state })) => {
                Transition::Refused { current_state }
            }
            _ => Transition::NotFound,
        });
    }
    let base: Option<Uuid> = sqlx::query_scalar(
        "UPDATE task_instance SET map_index = 0, updated_at = now()
          WHERE id = $1 AND map_index = -1 AND state IS NULL
         RETURNING id",
    )
    .bind(ti_id)
    .fetch_optional(&mut *conn)
    .await?;
    if base.is_none() {
        return refusal(conn, ti_id).await;
    }
    sqlx::query(
        "INSERT INTO task_instance (id, dag_id, run_id, task_id, map_index, state, try_number,
                                    max_tries, operator, pool, pool_slots, queue,
                                    priority_weight, dag_version_id, max_active_tis_per_dag,
                                    max_active_tis_per_dagrun, retry_delay,
                                    retry_exponential_backoff, max_retry_delay)
         SELECT gen_random_uuid(), t.dag_id, t.run_id, t.task_id, i, NULL, 0, t.max_tries,
                t.operator, t.pool, t.pool_slots, t.queue, t.priority_weight, t.dag_version_id,
                t.max_active_tis_per_dag, t.max_active_tis_per_dagrun, t.retry_delay,
                t.retry_exponential_backoff, t.max_retry_delay
           FROM task_instance t, generate_series(1, $2 - 1) i
          WHERE t.id = $1",
    )
    .bind(ti_id)
    .bind(n)
    .execute(&mut *conn)
    .await?;
    Ok(Transition::Applied(n))
}
