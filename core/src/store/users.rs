//! `app_user`, `role`, `user_role`: the accounts that sign in to the web UI
//! and their Airflow roles (Admin, Op, User, Viewer). Password hashes arrive
//! here already hashed (argon2 PHC strings): hashing is `core::auth`'s job.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::Result;

/// Failed sign-ins in a row after which the account is locked.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a locked account stays locked, in seconds.
pub const LOCK_SECONDS: i32 = 60;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub email: Option<&'a str>,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

/// Why a user could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(i64),
    UnknownRole,
    UsernameTaken,
    EmailTaken,
}

/// Creates a user with one role, in one statement; the unique constraints
/// decide about duplicates (no read-then-write).
pub async fn create(conn: &mut PgConnection, user: &NewUser<'_>) -> Result<CreateOutcome> {
    let role: Option<i16> = sqlx::query_scalar("SELECT id FROM role WHERE name = $1")
        .bind(user.role)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(role) = role else {
        return Ok(CreateOutcome::UnknownRole);
    };
    let created = sqlx::query_scalar(
        "WITH u AS (
             INSERT INTO app_user (username, email, first_name, last_name, password_hash)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING id)
         INSERT INTO user_role (user_id, role_id) SELECT id, $6 FROM u RETURNING user_id",
    )
    .bind(user.username)
    .bind(user.email)
    .bind(user.first_name)
    .bind(user.last_name)
    .bind(user.password_hash)
    .bind(role)
    .fetch_one(conn)
    .await;
    match created {
        Ok(id) => Ok(CreateOutcome::Created(id)),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("app_user_username_key") => {
            Ok(CreateOutcome::UsernameTaken)
        }
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("app_user_email_key") => {
            Ok(CreateOutcome::EmailTaken)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether any user exists (standalone creates `admin` when none does).
pub async fn any(conn: &mut PgConnection) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM app_user)")
        .fetch_one(conn)
        .await?)
}

/// A row of `users list`.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub roles: Vec<String>,
    pub active: bool,
}

/// Every user with their roles, by username.
pub async fn list(pool: &PgPool) -> Result<Vec<UserRow>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.active,
                COALESCE(array_agg(r.name ORDER BY r.name) FILTER (WHERE r.name IS NOT NULL), '{}')
                    AS roles
           FROM app_user u
           LEFT JOIN user_role ur ON ur.user_id = u.id
           LEFT JOIN role r ON r.id = ur.role_id
          GROUP BY u.id
          ORDER BY u.username",
    )
    .fetch_all(pool)
    .await?)
}

/// What sign-in needs to know about a username.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginCandidate {
    pub id: i64,
    pub password_hash: String,
    pub active: bool,
    pub locked_until: Option<DateTime<Utc>>,
}

/// The account named `username`, with `locked_until` only while it is in
/// the future. The row stays locked until the caller's transaction ends, so
/// attempts on one account are counted one after the other (parallel
/// guesses cannot slip past the lock).
pub async fn login_candidate(
    conn: &mut PgConnection,
    username: &str,
) -> Result<Option<LoginCandidate>> {
    Ok(sqlx::query_as(
        "SELECT id, password_hash, active,
                CASE WHEN locked_until > now() THEN locked_until END AS locked_until
           FROM app_user WHERE username = $1
            FOR UPDATE",
    )
    .bind(username)
    .fetch_optional(conn)
    .await?)
}

/// Counts a failed sign-in; the [`MAX_FAILED_LOGINS`]th in a row locks the
/// account for [`LOCK_SECONDS`] and starts the count again. Returns the lock's
/// end when this failure locked it.
pub async fn record_failure(
    conn: &mut PgConnection,
    user_id: i64,
) -> Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "UPDATE app_user
            SET failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
                locked_until = CASE WHEN failed_logins + 1 >= $2
                                    THEN now() + make_interval(secs => $3) ELSE locked_until END
          WHERE id = $1
          RETURNING CASE WHEN failed_logins = 0 THEN locked_until END",
    )
    .bind(user_id)
    .bind(MAX_FAILED_LOGINS)
    .bind(f64::from(LOCK_SECONDS))
    .fetch_optional(conn)
    .await?
    .flatten())
}

/// A successful sign-in: the failure count starts again.
pub async fn record_success(conn: &mut PgConnection, user_id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE app_user SET failed_logins = 0, locked_until = NULL, last_login_at = now()
          WHERE id = $1",
    )
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// An active user's name and role names (a REST API token's holder).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActiveUser {
    pub user_id: i64,
    pub username: String,
    pub roles: Vec<String>,
}

/// The user `user_id` with their roles, if the account exists and is active.
pub async fn active(conn: &mut PgConnection, user_id: i64) -> Result<Option<ActiveUser>> {
    Ok(sqlx::query_as(
        "SELECT u.id AS user_id, u.username,
                COALESCE(array_agg(r.name ORDER BY r.name) FILTER (WHERE r.name IS NOT NULL), '{}')
                    AS roles
           FROM app_user u
           LEFT JOIN user_role ur ON ur.user_id = u.id
           LEFT JOIN role r ON r.id = ur.role_id
          WHERE u.id = $1 AND u.active
          GROUP BY u.id",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}
