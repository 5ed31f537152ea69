//! Signing in: the throttled password check (`updraft_core::auth::credentials`,
//! shared with the REST API's tokens: a per-account lock after repeated
//! failures) and the session it opens. Failures are also counted per client
//! address ([`IpThrottle`]), whatever the username. A sign-in also deletes
//! the expired sessions.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use updraft_core::auth::credentials::{self, Verdict};
use updraft_core::store::sessions::{self, NewSession};

use super::ip_throttle::IpThrottle;
use super::password;
use crate::error::WebResult;

pub use updraft_core::auth::credentials::locked_message;

/// How long a session lives (Airflow's `session_lifetime_minutes`, 30 days).
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;

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
    let user_id = match credentials::check(&mut tx, username, password).await? {
        Verdict::Valid { user_id } => user_id,
        Verdict::Invalid => {
            tx.commit().await?;
            return Ok(SignIn::Invalid);
        }
        Verdict::Locked { until } => {
            tx.commit().await?;
            return Ok(SignIn::Locked { until });
        }
    };
    sessions::delete_expired(&mut tx).await?;
    let token = password::random_token();
    let token_hash = password::token_hash(&token);
    let csrf_token = password::random_token();
    sessions::create(
        &mut tx,
        &NewSession {
            token_hash: &token_hash,
            user_id,
            csrf_token: &csrf_token,
            expires_at: Utc::now() + Duration::seconds(SESSION_SECONDS),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(SignIn::Session(token))
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
