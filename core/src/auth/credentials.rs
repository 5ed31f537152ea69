//! Checking a username and password, with throttling: after
//! [`MAX_FAILED_LOGINS`] failures in a row the account is locked for
//! [`LOCK_SECONDS`]; while locked, even the right password is refused. The
//! UI's sign-in and the REST API's `POST /auth/token` both count here.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::password;
use crate::store::users::{self, LOCK_SECONDS, MAX_FAILED_LOGINS};
use crate::{Error, Result};

/// What a credential check came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The password is right and the account active: its `app_user.id`.
    Valid {
        user_id: i64,
    },
    Invalid,
    Locked {
        until: DateTime<Utc>,
    },
}

/// The hash checked for unknown users: their check costs the same time, so
/// response times do not tell which usernames exist.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| password::hash_password(&password::random_token()).unwrap_or_default())
        .clone()
}

/// Checks `username`/`password` and counts the attempt. Run it in a
/// transaction and commit it: the account row stays locked until then, so
/// parallel guesses are counted one after the other.
pub async fn check(conn: &mut PgConnection, username: &str, password: &str) -> Result<Verdict> {
    let candidate = users::login_candidate(conn, username).await?;
    if let Some(until) = candidate.as_ref().and_then(|c| c.locked_until) {
        return Ok(Verdict::Locked { until });
    }
    let hash = candidate
        .as_ref()
        .filter(|c| c.active)
        .map(|c| c.password_hash.clone());
    let given = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || {
        password::verify_password(&given, &hash.unwrap_or_else(dummy_hash))
    })
    .await
    .map_err(|e| Error::Internal(format!("password check: {e}")))?;
    let Some(user) = candidate else {
        return Ok(Verdict::Invalid);
    };
    if !ok || !user.active {
        return Ok(match users::record_failure(conn, user.id).await? {
            Some(until) => Verdict::Locked { until },
            None => Verdict::Invalid,
        });
    }
    users::record_success(conn, user.id).await?;
    Ok(Verdict::Valid { user_id: user.id })
}

/// The message shown for a locked account.
pub fn locked_message(until: DateTime<Utc>) -> String {
    let secs = (until - Utc::now()).num_seconds().max(1);
    format!(
        "Too many failed sign-ins ({MAX_FAILED_LOGINS}): this account is locked for \
         {secs} more seconds (locks last {LOCK_SECONDS} s)."
    )
}
