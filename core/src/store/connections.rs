//! `connection`: how to reach external systems (`conn.my_id.host` in templates).

use sqlx::PgConnection;

use crate::Result;

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

/// Every Connection.
pub async fn all(conn: &mut PgConnection) -> Result<Vec<ConnectionRow>> {
    Ok(sqlx::query_as(
        "SELECT conn_id, conn_type, host, schema, login, password, port, extra
           FROM connection ORDER BY conn_id",
    )
    .fetch_all(conn)
    .await?)
}
