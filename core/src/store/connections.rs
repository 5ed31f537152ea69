//! `connection`: how to reach external systems (`conn.my_id.host` in
//! templates), and their management (`updraft connections …`).

use sqlx::PgConnection;

use crate::Result;

/// A connection row as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConnectionRow {
    pub conn_id: String,
    pub conn_type: String,
    pub description: Option<String>,
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

const COLUMNS: &str = "conn_id, conn_type, description, host, schema, login, password, port, extra";

/// Every Connection.
pub async fn all(conn: &mut PgConnection) -> Result<Vec<ConnectionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM connection ORDER BY conn_id"
    )))
    .fetch_all(conn)
    .await?)
}

/// One Connection by id.
pub async fn get(conn: &mut PgConnection, conn_id: &str) -> Result<Option<ConnectionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM connection WHERE conn_id = $1"
    )))
    .bind(conn_id)
    .fetch_optional(conn)
    .await?)
}

/// Stores a Connection: with `replace`, an existing one with the same id is
/// overwritten; without, it is kept. `true`: the row was written. An id the
/// table's CHECK refuses (`^[A-Za-z0-9_.-]+$`) is a database error.
pub async fn put(conn: &mut PgConnection, c: &ConnectionRow, replace: bool) -> Result<bool> {
    let on_conflict = if replace {
        "DO UPDATE SET conn_type = EXCLUDED.conn_type, description = EXCLUDED.description,
             host = EXCLUDED.host, schema = EXCLUDED.schema, login = EXCLUDED.login,
             password = EXCLUDED.password, port = EXCLUDED.port, extra = EXCLUDED.extra,
             updated_at = now()"
    } else {
        "DO NOTHING"
    };
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO connection ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (conn_id) {on_conflict}"
    )))
    .bind(&c.conn_id)
    .bind(&c.conn_type)
    .bind(&c.description)
    .bind(&c.host)
    .bind(&c.schema)
    .bind(&c.login)
    .bind(&c.password)
    .bind(c.port)
    .bind(&c.extra)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a Connection. `false`: there was none.
pub async fn delete(conn: &mut PgConnection, conn_id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM connection WHERE conn_id = $1")
        .bind(conn_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
