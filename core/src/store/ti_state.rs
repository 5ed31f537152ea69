//! Task-instance state transitions: each one guarded statement on
//! `task_instance` that says which states it may leave, returning a typed
//! [`Transition`]; zero rows is reported ([`Transition::Refused`] with the
//! state found, or [`Transition::NotFound`]), never ignored.
//!
//! The life of a try: `None` → `scheduled` ([`set_scheduled`]) → `queued`
//! ([`queue_scheduled`], within pool slots and `max_active_tasks`) → `running`
//! ([`claim`], under a lease that [`heartbeat`] extends) → a final state
//! ([`finish`], fenced by worker and try number). A lease that runs out is
//! reaped ([`reap_expired_leases`]); people mark states by hand ([`mark`]).
//! Finished tries leave a `task_instance_history` row, written by the same
//! statement that ends the try.
//!
//! Callers run these in READ COMMITTED transactions (Postgres' default):
//! [`queue_scheduled`] counts slots after locking the pool rows and relies on
//! each statement seeing what the previous lock holder committed.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Acquire, PgConnection, Row};
use uuid::Uuid;

use crate::model::state::TaskInstanceState;
use crate::{Error, Result};

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
    fn state(self) -> TaskInstanceState {
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

fn parse_state(value: Option<String>) -> sqlx::Result<Option<TaskInstanceState>> {
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
async fn refusal<T>(conn: &mut PgConnection, ti_id: Uuid) -> Result<Transition<T>> {
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

/// `None`, or `up_for_retry`/`up_for_reschedule` whose `next_retry_at` has
/// come, → `scheduled`. As in Airflow 2.10+, this is where a new try is
/// counted (`try_number + 1`), except after a reschedule, which goes on with
/// the same try.
pub async fn set_scheduled(
    conn: &mut PgConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Transition<()>)>> {
    let sql = batch_sql!(
        "try_number = try_number + CASE WHEN state = 'up_for_reschedule' THEN 0 ELSE 1 END,
         state = 'scheduled', next_retry_at = NULL",
        "state IS NULL OR (state IN ('up_for_retry', 'up_for_reschedule')
                           AND (next_retry_at IS NULL OR next_retry_at <= $2))"
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

/// The DAG's `max_active_tasks` when it has none (`[core] max_active_tasks_per_dag`).
pub const DEFAULT_MAX_ACTIVE_TASKS: i32 = 16;

#[derive(sqlx::FromRow)]
struct Candidate {
    id: Uuid,
    dag_id: String,
    pool: String,
    pool_slots: i32,
    /// `None`: unlimited.
    pool_open: Option<i64>,
    dag_open: i64,
}

/// `scheduled` → `queued`, at most `limit`, by priority (then run, map index,
/// id), within each pool's open slots (`slots` − slots of its queued and
/// running TIs, deferred too if the pool says so; −1 = unlimited) and each
/// DAG's `max_active_tasks` (queued + running across its runs). Only TIs of
/// running runs of unpaused DAGs, in pools that exist. All pool rows are
/// locked first, so concurrent callers take turns and never overfill.
pub async fn queue_scheduled(
    conn: &mut PgConnection,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<TiRow>> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT 1 FROM pool ORDER BY pool FOR UPDATE")
        .execute(&mut *tx)
        .await?;
    let candidates: Vec<Candidate> = sqlx::query_as(
        "WITH used AS (
             SELECT ti.pool, sum(ti.pool_slots) AS slots FROM task_instance ti JOIN pool p USING (pool)
              WHERE ti.state IN ('queued', 'running') OR (ti.state = 'deferred' AND p.include_deferred)
              GROUP BY ti.pool),
         active AS (
             SELECT dag_id, count(*) AS n FROM task_instance
              WHERE state IN ('queued', 'running') GROUP BY dag_id)
         SELECT ti.id, ti.dag_id, ti.pool, ti.pool_slots,
                CASE WHEN p.slots = -1 THEN NULL
                     ELSE p.slots - COALESCE(u.slots, 0) END::int8 AS pool_open,
                (COALESCE(d.max_active_tasks, $2) - COALESCE(a.n, 0))::int8 AS dag_open
           FROM task_instance ti
           JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id
           JOIN dag d ON d.dag_id = ti.dag_id
           JOIN pool p ON p.pool = ti.pool
           LEFT JOIN used u ON u.pool = ti.pool
           LEFT JOIN active a ON a.dag_id = ti.dag_id
          WHERE ti.state = 'scheduled' AND dr.state = 'running' AND NOT d.is_paused
            AND (p.slots = -1 OR p.slots - COALESCE(u.slots, 0) >= ti.pool_slots)
            AND COALESCE(d.max_active_tasks, $2) > COALESCE(a.n, 0)
          ORDER BY ti.priority_weight DESC, dr.run_after, ti.map_index, ti.id
          LIMIT $1
          FOR UPDATE OF ti SKIP LOCKED",
    )
    .bind(limit.saturating_mul(4))
    .bind(DEFAULT_MAX_ACTIVE_TASKS)
    .fetch_all(&mut *tx)
    .await?;

    let mut pool_open: HashMap<String, Option<i64>> = HashMap::new();
    let mut dag_open: HashMap<String, i64> = HashMap::new();
    let mut picked: Vec<Uuid> = Vec::new();
    for c in candidates {
        if picked.len() as i64 >= limit {
            break;
        }
        let pool = pool_open.entry(c.pool.clone()).or_insert(c.pool_open);
        let dag = dag_open.entry(c.dag_id.clone()).or_insert(c.dag_open);
        let slots = i64::from(c.pool_slots);
        if *dag < 1 || pool.is_some_and(|open| open < slots) {
            continue;
        }
        *dag -= 1;
        if let Some(open) = pool.as_mut() {
            *open -= slots;
        }
        picked.push(c.id);
    }

    let mut queued: Vec<TiRow> = sqlx::query_as(
        "UPDATE task_instance SET state = 'queued', queued_at = $2, updated_at = now()
          WHERE id = ANY($1) AND state = 'scheduled'
         RETURNING *",
    )
    .bind(&picked)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    queued.sort_by_key(|ti| picked.iter().position(|id| *id == ti.id));
    Ok(queued)
}

/// `queued` → `running` for up to `limit` TIs of the given queues, by
/// priority: the try counted when it was scheduled, owned by `worker_id` until
/// `now() + lease`. The worker must be registered and running.
pub async fn claim(
    conn: &mut PgConnection,
    worker_id: Uuid,
    queues: &[String],
    limit: i64,
    lease: Duration,
) -> Result<Vec<TiRow>> {
    let claimed: Vec<TiRow> = sqlx::query_as(
        "UPDATE task_instance t
            SET state = 'running', worker_id = w.id,
                hostname = w.hostname, pid = NULL,
                lease_expires_at = now() + make_interval(secs => $4), last_heartbeat_at = now(),
                start_date = now(), end_date = NULL, duration = NULL, next_retry_at = NULL,
                updated_at = now()
           FROM (SELECT id FROM task_instance WHERE state = 'queued' AND queue = ANY($2)
                  ORDER BY priority_weight DESC, queued_at, id
                  LIMIT $3 FOR UPDATE SKIP LOCKED) c,
                worker w
          WHERE t.id = c.id AND t.state = 'queued' AND w.id = $1 AND w.state = 'running'
         RETURNING t.*",
    )
    .bind(worker_id)
    .bind(queues)
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(&mut *conn)
    .await?;
    if claimed.is_empty() {
        let alive: Option<bool> =
            sqlx::query_scalar("SELECT state = 'running' FROM worker WHERE id = $1")
                .bind(worker_id)
                .fetch_optional(&mut *conn)
                .await?;
        if alive != Some(true) {
            return Err(Error::NotFound(format!("running worker {worker_id}")));
        }
    }
    Ok(claimed)
}

/// Extends the lease of a running try to `now() + lease`, only for its own
/// worker and try. Applied: the new expiry.
pub async fn heartbeat(
    conn: &mut PgConnection,
    fence: Fence,
    lease: Duration,
) -> Result<Transition<DateTime<Utc>>> {
    let expires: Option<DateTime<Utc>> = sqlx::query_scalar(
        "UPDATE task_instance
            SET lease_expires_at = now() + make_interval(secs => $4), last_heartbeat_at = now(),
                updated_at = now()
          WHERE id = $1 AND state = 'running' AND worker_id = $2 AND try_number = $3
         RETURNING lease_expires_at",
    )
    .bind(fence.ti_id)
    .bind(fence.worker_id)
    .bind(fence.try_number)
    .bind(lease.as_secs_f64())
    .fetch_optional(&mut *conn)
    .await?;
    match expires {
        Some(at) => Ok(Transition::Applied(at)),
        None => refusal(conn, fence.ti_id).await,
    }
}

/// The fenced final write of a try: only while it is `running` and owned by
/// this worker and try, so a worker whose lease was reaped cannot overwrite
/// what happened since. Writes `end_date`, `duration` and the try's history
/// row in the same statement.
pub async fn finish(
    conn: &mut PgConnection,
    fence: Fence,
    outcome: FinishOutcome,
) -> Result<Transition<TiRow>> {
    let (state, next_retry_at) = match outcome {
        FinishOutcome::Success => (TaskInstanceState::Success, None),
        FinishOutcome::Failed => (TaskInstanceState::Failed, None),
        FinishOutcome::Skipped => (TaskInstanceState::Skipped, None),
        FinishOutcome::UpForRetry { next_retry_at } => {
            (TaskInstanceState::UpForRetry, Some(next_retry_at))
        }
    };
    let row: Option<TiRow> = sqlx::query_as(
        "WITH done AS (
             UPDATE task_instance
                SET state = CASE WHEN $4::text = 'up_for_retry' AND try_number > max_tries
                                 THEN 'failed' ELSE $4::text END,
                    next_retry_at = CASE WHEN try_number <= max_tries THEN $5::timestamptz END,
                    end_date = now(),
                    duration = GREATEST(EXTRACT(EPOCH FROM now() - start_date)::float8, 0),
                    lease_expires_at = NULL, updated_at = now()
              WHERE id = $1 AND state = 'running' AND worker_id = $2 AND try_number = $3
             RETURNING *),
         history AS (
             INSERT INTO task_instance_history (ti_id, try_number, state, operator, hostname,
                         worker_id, start_date, end_date, duration, rendered_fields)
             SELECT id, try_number, state, operator, hostname, worker_id, start_date, end_date,
                    duration, rendered_fields FROM done)
         SELECT * FROM done",
    )
    .bind(fence.ti_id)
    .bind(fence.worker_id)
    .bind(fence.try_number)
    .bind(state.as_str())
    .bind(next_retry_at)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Transition::Applied(row)),
        None => refusal(conn, fence.ti_id).await,
    }
}

/// A sensor in reschedule mode gives its slot back: `running` →
/// `up_for_reschedule` until `at`, fenced like [`finish`], with a
/// `task_reschedule` row. The try is not over (no history row), and the
/// next [`set_scheduled`] goes on with the same try number.
pub async fn reschedule(
    conn: &mut PgConnection,
    fence: Fence,
    at: DateTime<Utc>,
) -> Result<Transition<TiRow>> {
    let row: Option<TiRow> = sqlx::query_as(
        "WITH done AS (
             UPDATE task_instance
                SET state = 'up_for_reschedule', next_retry_at = $4, end_date = now(),
                    duration = GREATEST(EXTRACT(EPOCH FROM now() - start_date)::float8, 0),
                    lease_expires_at = NULL, updated_at = now()
              WHERE id = $1 AND state = 'running' AND worker_id = $2 AND try_number = $3
             RETURNING *),
         logged AS (
             INSERT INTO task_reschedule (ti_id, try_number, start_date, end_date, reschedule_date)
             SELECT id, try_number, start_date, end_date, $4 FROM done)
         SELECT * FROM done",
    )
    .bind(fence.ti_id)
    .bind(fence.worker_id)
    .bind(fence.try_number)
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Transition::Applied(row)),
        None => refusal(conn, fence.ti_id).await,
    }
}

/// When the first poke of the current try started (its earliest
/// `task_reschedule` row), for a sensor's timeout across reschedules.
pub async fn first_poke_of_try(
    conn: &mut PgConnection,
    ti_id: Uuid,
    try_number: i32,
) -> Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "SELECT min(start_date) FROM task_reschedule WHERE ti_id = $1 AND try_number = $2",
    )
    .bind(ti_id)
    .bind(try_number)
    .fetch_one(conn)
    .await?)
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

/// Zombies: running tries whose lease ended before `now` become
/// `up_for_retry` (next try not before `now + retry_delay`) while
/// `try_number <= max_tries`, else `failed`; each with its history row.
/// At most `limit`, oldest lease first.
pub async fn reap_expired_leases(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    retry_delay: Duration,
    limit: i64,
) -> Result<Vec<TiRow>> {
    Ok(sqlx::query_as(
        "WITH reaped AS (
             UPDATE task_instance t
                SET state = CASE WHEN t.try_number <= t.max_tries
                                 THEN 'up_for_retry' ELSE 'failed' END,
                    next_retry_at = CASE WHEN t.try_number <= t.max_tries
                                         THEN $1 + make_interval(secs => $2) END,
                    end_date = $1,
                    duration = GREATEST(EXTRACT(EPOCH FROM $1 - t.start_date)::float8, 0),
                    lease_expires_at = NULL, updated_at = now()
               FROM (SELECT id FROM task_instance WHERE state = 'running' AND lease_expires_at < $1
                      ORDER BY lease_expires_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) c
              WHERE t.id = c.id AND t.state = 'running' AND t.lease_expires_at < $1
             RETURNING t.*),
         history AS (
             INSERT INTO task_instance_history (ti_id, try_number, state, operator, hostname,
                         worker_id, start_date, end_date, duration, rendered_fields, error)
             SELECT id, try_number, state, operator, hostname, worker_id, start_date, end_date,
                    duration, rendered_fields, 'lease expired without a heartbeat' FROM reaped)
         SELECT * FROM reaped ORDER BY end_date, id",
    )
    .bind(now)
    .bind(retry_delay.as_secs_f64())
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// A person sets a final state by hand (from any other state), with an
/// `audit_log` row in the same statement. A worker still running the try
/// then finds its heartbeat and final write refused.
pub async fn mark(
    conn: &mut PgConnection,
    ti_id: Uuid,
    to: MarkAs,
    by_user: &str,
) -> Result<Transition<TiRow>> {
    let row: Option<TiRow> = sqlx::query_as(
        "WITH old AS (SELECT id, state FROM task_instance WHERE id = $1 FOR UPDATE),
         upd AS (
             UPDATE task_instance t
                SET state = $2::text, start_date = COALESCE(t.start_date, now()), end_date = now(),
                    duration = GREATEST(EXTRACT(EPOCH FROM now()
                                        - COALESCE(t.start_date, now()))::float8, 0),
                    lease_expires_at = NULL, next_retry_at = NULL, updated_at = now()
               FROM old
              WHERE t.id = old.id AND t.state IS DISTINCT FROM $2::text
             RETURNING t.*, old.state AS previous_state),
         audit AS (
             INSERT INTO audit_log (event, owner, dag_id, run_id, task_id, map_index,
                                    try_number, extra)
             SELECT 'mark_task_instance_' || $2::text, $3, dag_id, run_id, task_id, map_index,
                    try_number, jsonb_build_object('from', previous_state, 'to', $2::text)
               FROM upd)
         SELECT * FROM upd",
    )
    .bind(ti_id)
    .bind(to.state().as_str())
    .bind(by_user)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Transition::Applied(row)),
        None => refusal(conn, ti_id).await,
    }
}
