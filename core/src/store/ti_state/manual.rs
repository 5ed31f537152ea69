//! What people do to task instances by hand: mark a state (and, later,
//! clear), each with its audit row.

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
