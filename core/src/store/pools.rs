//! `pool`: named slot limits for task instances, and their management
//! (`updraft pools …`). `default_pool` always exists.

use sqlx::PgConnection;

use crate::Result;

/// The pool every task uses unless it names another; it cannot be deleted.
pub const DEFAULT_POOL: &str = "default_pool";

/// The names of all pools.
pub async fn names(conn: &mut PgConnection) -> Result<std::collections::HashSet<String>> {
    Ok(sqlx::query_scalar("SELECT pool FROM pool")
        .fetch_all(conn)
        .await?
        .into_iter()
        .collect())
}

/// A pool as Airflow's CLI prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct PoolRow {
    pub pool: String,
    /// -1: unlimited.
    pub slots: i32,
    pub description: Option<String>,
    pub include_deferred: bool,
}

const COLUMNS: &str = "pool, slots, description, include_deferred";

/// Every pool, by name.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<PoolRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM pool ORDER BY pool"
    )))
    .fetch_all(conn)
    .await?)
}

/// One pool by name.
pub async fn get(conn: &mut PgConnection, name: &str) -> Result<Option<PoolRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM pool WHERE pool = $1"
    )))
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

/// Creates or updates a pool (Airflow's `Pool.create_or_update_pool`).
/// Slots below -1 are refused by the table's CHECK.
pub async fn set(conn: &mut PgConnection, p: &PoolRow) -> Result<PoolRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO pool (pool, slots, description, include_deferred) VALUES ($1, $2, $3, $4)
         ON CONFLICT (pool) DO UPDATE
            SET slots = EXCLUDED.slots, description = EXCLUDED.description,
                include_deferred = EXCLUDED.include_deferred
         RETURNING {COLUMNS}"
    )))
    .bind(&p.pool)
    .bind(p.slots)
    .bind(&p.description)
    .bind(p.include_deferred)
    .fetch_one(conn)
    .await?)
}

/// Deletes a pool; `None`: there was none (callers refuse [`DEFAULT_POOL`]
/// first). A pool that task instances still name is refused by their
/// foreign key.
pub async fn delete(conn: &mut PgConnection, name: &str) -> Result<Option<PoolRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "DELETE FROM pool WHERE pool = $1 RETURNING {COLUMNS}"
    )))
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

/// Every pool's open, queued and running slots (task instances count their
/// `pool_slots`), and the task instances queued and running in all: the
/// scheduler's per-pass pool and executor gauges. A task naming a pool that
/// does not exist is counted in the totals only.
pub async fn slot_usage(
    conn: &mut PgConnection,
) -> Result<(Vec<crate::observe::metrics::PoolSlots>, i64, i64)> {
    let pools = sqlx::query_as(
        "SELECT p.pool,
                CASE WHEN p.slots < 0 THEN NULL
                     ELSE p.slots - coalesce(sum(t.pool_slots)
                          FILTER (WHERE t.state IN ('queued', 'running')), 0) END AS open,
                coalesce(sum(t.pool_slots) FILTER (WHERE t.state = 'queued'), 0) AS queued,
                coalesce(sum(t.pool_slots) FILTER (WHERE t.state = 'running'), 0) AS running
           FROM pool p
           LEFT JOIN task_instance t ON t.pool = p.pool AND t.state IN ('queued', 'running')
          GROUP BY p.pool, p.slots ORDER BY p.pool",
    )
    .fetch_all(&mut *conn)
    .await?;
    let (queued, running): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'running')
           FROM task_instance WHERE state IN ('queued', 'running')",
    )
    .fetch_one(conn)
    .await?;
    Ok((pools, queued, running))
}

/// The slots a pool's task instances hold, by state (what Airflow's
/// `PoolResponse` reports besides the pool itself).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct SlotUsage {
    pub running: i64,
    pub queued: i64,
    pub scheduled: i64,
    pub deferred: i64,
}

/// [`SlotUsage`] of every pool that has task instances in those states.
pub async fn usage(
    conn: &mut PgConnection,
) -> Result<std::collections::HashMap<String, SlotUsage>> {
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT pool,
                COALESCE(sum(pool_slots) FILTER (WHERE state = 'running'), 0)::int8,
                COALESCE(sum(pool_slots) FILTER (WHERE state = 'queued'), 0)::int8,
                COALESCE(sum(pool_slots) FILTER (WHERE state = 'scheduled'), 0)::int8,
                COALESCE(sum(pool_slots) FILTER (WHERE state = 'deferred'), 0)::int8
           FROM task_instance
          WHERE state IN ('running', 'queued', 'scheduled', 'deferred')
          GROUP BY pool",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(pool, running, queued, scheduled, deferred)| {
            (
                pool,
                SlotUsage {
                    running,
                    queued,
                    scheduled,
                    deferred,
                },
            )
        })
        .collect())
}
