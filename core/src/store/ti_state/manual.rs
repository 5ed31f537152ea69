//! What people do to task instances by hand: mark a state or clear, each
//! with its audit row.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{MarkAs, TiRow, Transition, refusal};
use crate::Result;

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

/// One task instance to clear, with its task's `retries` in the DAG now
/// (`None`: the task is gone from the DAG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClearTarget {
    pub ti_id: Uuid,
    pub retries: Option<i32>,
}

/// Airflow's `clear_task_instances`: the task instances run again. From any
/// state: a running try becomes `up_for_retry`, not before its lease runs
/// out (its worker's heartbeat is then refused, so it stops, and its final
/// write is fenced off: Airflow's `restarting`, which always retries); every
/// other state becomes no state. `max_tries` is raised to `try_number +
/// retries` so the task gets all its retries again (or, for a task gone from
/// the DAG, to at least `try_number`); reschedules of the old try are
/// dropped, and so are the Kafka deliveries it recorded (a cleared produce
/// task publishes again); one `audit_log` row per task instance, in the same
/// statement.
/// Returns the rows cleared (ids not found are left out).
pub async fn clear(
    conn: &mut PgConnection,
    targets: &[ClearTarget],
    by_user: &str,
) -> Result<Vec<TiRow>> {
    let ids: Vec<Uuid> = targets.iter().map(|t| t.ti_id).collect();
    let retries: Vec<Option<i32>> = targets.iter().map(|t| t.retries).collect();
    Ok(sqlx::query_as(
        "WITH t AS (SELECT * FROM UNNEST($1::uuid[], $2::int4[]) AS t(id, retries)),
         old AS (SELECT ti.id, ti.state, t.retries FROM task_instance ti JOIN t ON t.id = ti.id
                  ORDER BY ti.id FOR UPDATE OF ti),
         upd AS (
             UPDATE task_instance ti
                SET state = CASE WHEN old.state = 'running' THEN 'up_for_retry' END,
                    next_retry_at = CASE WHEN old.state = 'running'
                                         THEN GREATEST(now(), ti.lease_expires_at) END,
                    max_tries = COALESCE(ti.try_number + GREATEST(old.retries, 0),
                                         GREATEST(ti.max_tries, ti.try_number)),
                    lease_expires_at = NULL, updated_at = now()
               FROM old
              WHERE ti.id = old.id
             RETURNING ti.*, old.state AS previous_state),
         gone AS (DELETE FROM task_reschedule r USING upd WHERE r.ti_id = upd.id),
         -- A cleared produce task publishes again: forget what it delivered.
         sent AS (DELETE FROM kafka_delivery d USING upd WHERE d.ti_id = upd.id),
         audit AS (
             INSERT INTO audit_log (event, owner, dag_id, run_id, task_id, map_index,
                                    try_number, extra)
             SELECT 'clear_task_instance', $3, dag_id, run_id, task_id, map_index, try_number,
                    jsonb_build_object('from', previous_state, 'max_tries', max_tries)
               FROM upd)
         SELECT * FROM upd ORDER BY dag_id, run_id, task_id, map_index",
    )
    .bind(&ids)
    .bind(&retries)
    .bind(by_user)
    .fetch_all(conn)
    .await?)
}
