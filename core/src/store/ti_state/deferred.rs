//! A try that waits without a worker slot (human-in-the-loop): `running` →
//! `deferred` ([`defer`], fenced like the final write), then due again
//! ([`resume_deferred`], when the answer comes) or at its timeout
//! (`next_retry_at`), when [`super::set_scheduled`] resumes the same try.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Fence, TiRow, Transition, refusal};
use crate::Result;

/// `running` → `deferred` for this worker's try: the lease and the slot are
/// given back; `next_retry_at` is when the try resumes anyway (its
/// timeout; `None`: only an answer resumes it). The try is not over (no
/// history row).
pub async fn defer(
    conn: &mut PgConnection,
    fence: Fence,
    timeout_at: Option<DateTime<Utc>>,
) -> Result<Transition<TiRow>> {
    let row: Option<TiRow> = sqlx::query_as(
        "UPDATE task_instance
            SET state = 'deferred', next_retry_at = $4, lease_expires_at = NULL,
                updated_at = now()
          WHERE id = $1 AND state = 'running' AND worker_id = $2 AND try_number = $3
         RETURNING *",
    )
    .bind(fence.ti_id)
    .bind(fence.worker_id)
    .bind(fence.try_number)
    .bind(timeout_at)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Transition::Applied(row)),
        None => refusal(conn, fence.ti_id).await,
    }
}

/// A `deferred` task instance is due now (its event came): the next
/// scheduler pass resumes its try.
pub async fn resume_deferred(
    conn: &mut PgConnection,
    ti_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Transition<()>> {
    let done = sqlx::query(
        "UPDATE task_instance SET next_retry_at = $2, updated_at = now()
          WHERE id = $1 AND state = 'deferred'",
    )
    .bind(ti_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(Transition::Applied(()))
    } else {
        refusal(conn, ti_id).await
    }
}
