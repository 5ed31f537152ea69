//! Airflow 2's basic auth (`airflow.api.auth.backend.basic_auth`): every
//! `/api/v1` request carries `Authorization: Basic base64(user:password)`,
//! checked by `core::auth::credentials` (the UI's check, with its throttle).
//! The result is the same [`Caller`] the v2 routes get from a token, so
//! the role table is asked the same way.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use updraft_core::auth::credentials::{self, Verdict};
use updraft_core::store::users;

use super::error::V1Error;
use crate::ApiState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The caller of a v1 request, signed in by basic auth.
#[derive(Debug, Clone)]
pub struct BasicCaller(pub Caller);

/// `user:password` from an `Authorization: Basic …` value.
fn decode(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

impl FromRequestParts<ApiState> for BasicCaller {
    type Rejection = V1Error;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, V1Error> {
        let unauthorized = || V1Error(ApiError::Unauthorized("Unauthorized".to_owned()));
        let (username, password) = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(decode)
            .ok_or_else(unauthorized)?;
        let mut tx = state.pool.begin().await?;
        let verdict = credentials::check(&mut tx, &username, &password).await?;
        tx.commit().await?;
        let user_id = match verdict {
            Verdict::Valid { user_id } => user_id,
            Verdict::Invalid => return Err(unauthorized()),
            Verdict::Locked { until } => {
                return Err(V1Error(ApiError::TooManyRequests(
                    credentials::locked_message(until),
                )));
            }
        };
        let mut conn = state.pool.acquire().await?;
        let user = users::active(&mut conn, user_id)
            .await?
            .ok_or_else(unauthorized)?;
        Ok(Self(Caller {
            user_id: user.user_id,
            username: user.username,
            roles: user.roles,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_basic_credentials() {
        // "admin:pa:ss" — the password may hold colons.
        assert_eq!(
            decode("Basic YWRtaW46cGE6c3M="),
            Some(("admin".to_owned(), "pa:ss".to_owned()))
        );
        assert_eq!(decode("Bearer YWRtaW46cGE6c3M="), None);
        assert_eq!(decode("Basic !!!"), None);
        assert_eq!(decode("Basic YWRtaW4="), None);
    }
}
