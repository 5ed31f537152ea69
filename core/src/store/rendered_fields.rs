//! What templates need from the database besides XCom: the rendered fields a
//! worker stores per task instance, and Variables and Connections as
//! templates read them (`var.value.x`, `conn.my_id.host`).

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

/// A connection row as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConnectionRow {
    pub conn_id: String,
    pub conn_type: String,
    pub host: Option<String>,
    pub schema: Option<String>,
    pub login: Option<String>,
    pub password: Option<Vec<u8>>,
    pub port: Option<i32>,
    pub extra: Option<Vec<u8>>,
}

impl ConnectionRow {
    /// The password as text. The schema calls `password` "encrypted at rest",
    /// but encryption is later work: today the column holds UTF-8 bytes.
    pub fn password_text(&self) -> Option<String> {
        self.password
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// `extra` as text; UTF-8 bytes for now, like [`Self::password_text`].
    pub fn extra_text(&self) -> Option<String> {
        self.extra
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// Every Variable, `(key, val)`. Values are plain text today (`is_encrypted`
/// is not honoured yet: encryption is later work).
pub async fn variables(conn: &mut PgConnection) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT key, val FROM variable ORDER BY key")
        .fetch_all(conn)
        .await?)
}

/// Every Connection.
pub async fn connections(conn: &mut PgConnection) -> Result<Vec<ConnectionRow>> {
    Ok(sqlx::query_as(
        "SELECT conn_id, conn_type, host, schema, login, password, port, extra
           FROM connection ORDER BY conn_id",
    )
    .fetch_all(conn)
    .await?)
}
