//! `variable`: key/value settings templates read (`var.value.x`, `var.json.x`).

use sqlx::PgConnection;

use crate::Result;

/// Every Variable, `(key, val)`. Values are plain text today (`is_encrypted`
/// is not honoured yet: encryption is later work).
pub async fn all(conn: &mut PgConnection) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT key, val FROM variable ORDER BY key")
        .fetch_all(conn)
        .await?)
}
