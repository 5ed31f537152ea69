//! The rendered (masked) template fields a worker stores per task instance.

use serde_json::Value;
use sqlx::PgConnection;

use crate::Result;
use crate::store::ti_state::Fence;

/// Stores a running try's rendered (already masked) template fields; fenced
/// like `ti_state::finish`. `false`: the try is no longer this worker's.
pub async fn set(conn: &mut PgConnection, fence: Fence, fields: &Value) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE task_instance SET rendered_fields = $4, updated_at = now()
          WHERE id = $1 AND state = 'running' AND worker_id = $2 AND try_number = $3",
    )
    .bind(fence.ti_id)
    .bind(fence.worker_id)
    .bind(fence.try_number)
    .bind(fields)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
