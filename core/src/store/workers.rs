//! The `worker` table: a worker registers when it starts, heartbeats while it
//! runs and marks itself stopped when it ends. Task instances are claimed
//! through `ti_state::claim`, which requires the worker to be `running`.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

/// A worker about to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorker {
    pub id: Uuid,
    pub hostname: String,
    pub pid: i32,
    pub queues: Vec<String>,
    pub concurrency: i32,
}

/// Inserts the worker row in state `running`.
pub async fn register(conn: &mut PgConnection, w: &NewWorker) -> Result<()> {
    sqlx::query(
        "INSERT INTO worker (id, hostname, pid, queues, concurrency, state)
         VALUES ($1, $2, $3, $4, $5, 'running')",
    )
    .bind(w.id)
    .bind(&w.hostname)
    .bind(w.pid)
    .bind(&w.queues)
    .bind(w.concurrency)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that a running worker is alive. `false`: it is no longer `running`
/// (stopping, stopped, or declared dead), or its row is gone.
pub async fn heartbeat(conn: &mut PgConnection, id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE worker SET last_heartbeat_at = now() WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `running` → `stopping`: the worker claims nothing more (`claim` requires
/// `running`) and lets its tasks finish. `false` when it was not running.
pub async fn mark_stopping(conn: &mut PgConnection, id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE worker SET state = 'stopping', last_heartbeat_at = now()
          WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `running`/`stopping` → `stopped`, with `stopped_at`. `false` when it was
/// already stopped or dead.
pub async fn mark_stopped(conn: &mut PgConnection, id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE worker SET state = 'stopped', stopped_at = now()
          WHERE id = $1 AND state IN ('running', 'stopping')",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The state of a worker, `None` when there is no such row.
pub async fn state(conn: &mut PgConnection, id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT state FROM worker WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// Deletes a stopped worker row (`tasks test` leaves nothing behind). The
/// task instances and history rows that named it keep `worker_id = NULL`.
/// `false`: no such stopped worker.
pub async fn delete_stopped(conn: &mut PgConnection, id: Uuid) -> Result<bool> {
    let done = sqlx::query("DELETE FROM worker WHERE id = $1 AND state = 'stopped'")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Running workers with a heartbeat since `since`, and the latest heartbeat
/// of any running worker (for `/health`).
pub async fn alive_since(
    conn: &mut PgConnection,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<(i64, Option<chrono::DateTime<chrono::Utc>>)> {
    Ok(sqlx::query_as(
        "SELECT count(*) FILTER (WHERE last_heartbeat_at >= $1), max(last_heartbeat_at)
           FROM worker WHERE state = 'running'",
    )
    .bind(since)
    .fetch_one(conn)
    .await?)
}
