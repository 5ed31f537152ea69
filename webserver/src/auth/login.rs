//! Signing in: the password check with throttling, and the session it
//! opens. After [`MAX_FAILED_LOGINS`] failures in a row the account is
//! locked for [`LOCK_SECONDS`]; while locked, even the right password is
//! refused. Failures are also counted per client address
//! ([`IpThrottle`]), whatever the username. A sign-in also deletes the
//! expired sessions.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use updraft_core::store::sessions::{self, NewSession};
use updraft_core::store::users::{self, LOCK_SECONDS, MAX_FAILED_LOGINS};

use super::ip_throttle::IpThrottle;
use super::password;
use crate::error::{WebError, WebResult};

/// How long a session lives (Airflow's `session_lifetime_minutes`, 30 days).
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;

/// The hash checked for unknown users: their check costs the same time, so
/// response times do not tell which usernames exist.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| password::hash_password(&password::random_token()).unwrap_or_default())
        .clone()
}

/// What a sign-in attempt came to.
#[derive(Debug)]
pub enum SignIn {
    /// A new session: the cookie's token.
    Session(String),
    Invalid,
    Locked {
        until: DateTime<Utc>,
    },
    /// Too many failures from this client address: wait this long.
    Throttled {
        retry_after: std::time::Duration,
    },
}

/// One sign-in attempt: the form's fields and where it came from.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub ip: Option<IpAddr>,
}

/// Checks the address's throttle, then the password; a failure counts
/// against the address too.
pub async fn sign_in(pool: &PgPool, ips: &IpThrottle, a: Attempt<'_>) -> WebResult<SignIn> {
    if let Some(ip) = a.ip
        && let Err(retry_after) = ips.check(ip)
    {
        return Ok(SignIn::Throttled { retry_after });
    }
    let out = check_password(pool, a.username, a.password).await?;
    if let (Some(ip), SignIn::Invalid | SignIn::Locked { .. }) = (a.ip, &out) {
        ips.record_failure(ip);
    }
    Ok(out)
}

async fn check_password(pool: &PgPool, username: &str, password: &str) -> WebResult<SignIn> {
    let mut tx = pool.begin().await?;
    let candidate = users::login_candidate(&mut tx, username).await?;
    if let Some(until) = candidate.as_ref().and_then(|c| c.locked_until) {
        return Ok(SignIn::Locked { until });
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
    .map_err(|e| WebError::Internal(format!("password check: {e}")))?;
    let Some(user) = candidate else {
        return Ok(SignIn::Invalid);
    };
    if !ok || !user.active {
        let locked = users::record_failure(&mut tx, user.id).await?;
        tx.commit().await?;
        return Ok(match locked {
            Some(until) => SignIn::Locked { until },
            None => SignIn::Invalid,
        });
    }
    users::record_success(&mut tx, user.id).await?;
    sessions::delete_expired(&mut tx).await?;
    let token = password::random_token();
    let token_hash = password::token_hash(&token);
    let csrf_token = password::random_token();
    sessions::create(
        &mut tx,
        &NewSession {
            token_hash: &token_hash,
            user_id: user.id,
            csrf_token: &csrf_token,
            expires_at: Utc::now() + Duration::seconds(SESSION_SECONDS),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(SignIn::Session(token))
}

/// The message shown for a locked account.
pub fn locked_message(until: DateTime<Utc>) -> String {
    let secs = (until - Utc::now()).num_seconds().max(1);
    format!(
        "Too many failed sign-ins ({MAX_FAILED_LOGINS}): this account is locked for \
         {secs} more seconds (locks last {LOCK_SECONDS} s)."
    )
}

/// The message shown to a throttled address.
pub fn throttled_message(ips: &IpThrottle, retry_after: std::time::Duration) -> String {
    let (max, window) = ips.limits();
    format!(
        "Too many failed sign-ins from your address ({max} within {} s): try again in {} seconds.",
        window.as_secs(),
        retry_after.as_secs().max(1)
    )
}
