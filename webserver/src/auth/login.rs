//! Signing in: the throttled password check (`updraft_core::auth::credentials`,
//! shared with the REST API's tokens) and the session it opens.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use updraft_core::auth::credentials::{self, Verdict};
use updraft_core::store::sessions::{self, NewSession};

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
}

pub async fn sign_in(pool: &PgPool, username: &str, password: &str) -> WebResult<SignIn> {
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
