//! `user_session`: browser sessions of the web UI. The cookie carries a
//! random token; only its SHA-256 is stored, with the session's CSRF token.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::Result;

/// A session to store.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn create(conn: &mut PgConnection, s: &NewSession<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_session (token_hash, user_id, csrf_token, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(s.token_hash)
    .bind(s.user_id)
    .bind(s.csrf_token)
    .bind(s.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The signed-in user of a live session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
    pub csrf_token: String,
    pub roles: Vec<String>,
}

/// The session with this token hash, if it has not expired and its user is
/// active; marks it seen.
pub async fn lookup(conn: &mut PgConnection, token_hash: &str) -> Result<Option<SessionUser>> {
    Ok(sqlx::query_as(
        "WITH s AS (
             UPDATE user_session SET last_seen_at = now()
              WHERE token_hash = $1 AND expires_at > now()
              RETURNING user_id, csrf_token)
         SELECT u.id AS user_id, u.username, s.csrf_token,
                COALESCE(array_agg(r.name ORDER BY r.name) FILTER (WHERE r.name IS NOT NULL), '{}')
                    AS roles
           FROM s
           JOIN app_user u ON u.id = s.user_id AND u.active
           LEFT JOIN user_role ur ON ur.user_id = u.id
           LEFT JOIN role r ON r.id = ur.role_id
          GROUP BY u.id, s.csrf_token",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?)
}

/// Ends a session. `false`: there was none.
pub async fn delete(conn: &mut PgConnection, token_hash: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM user_session WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the sessions that have expired; returns how many. Run on every
/// sign-in, so the table holds live sessions only (plus those that expired
/// since the last sign-in).
pub async fn delete_expired(conn: &mut PgConnection) -> Result<u64> {
    let done = sqlx::query("DELETE FROM user_session WHERE expires_at <= now()")
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
