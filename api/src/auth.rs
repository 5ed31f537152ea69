//! Tokens, as Airflow 3: `POST /auth/token` with `{"username", "password"}`
//! checks the password through `core::auth::credentials` (the UI's check,
//! with its throttle) and answers 201 `{"access_token": JWT}`; every other
//! route wants `Authorization: Bearer <JWT>` ([`Caller`]) and asks the UI's
//! role table (`core::auth::permissions`) before a change.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use updraft_core::auth::credentials::{self, Verdict};
use updraft_core::auth::permissions::{Action, any_allowed};
use updraft_core::config::ApiAuthSettings;
use updraft_core::store::{audit, users};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse};
use crate::extract::Body;

/// The audience Airflow puts in its tokens.
const AUDIENCE: &str = "apache-airflow";

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(create_token))
}

/// The keys tokens are signed and checked with, and how long they live.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime_secs: u64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("lifetime_secs", &self.lifetime_secs)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// From `[api_auth] jwt_secret`, or a random secret for this process.
    pub fn from_settings(settings: &ApiAuthSettings) -> Arc<Self> {
        let secret = match &settings.jwt_secret {
            Some(s) => s.expose_secret().to_owned(),
            None => updraft_core::auth::password::random_token(),
        };
        Arc::new(Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            lifetime_secs: settings.jwt_expiration_time.max(1),
        })
    }

    fn issue(&self, user_id: i64, username: &str) -> ApiResult<String> {
        let now = chrono::Utc::now().timestamp();
        let exp = now.saturating_add(i64::try_from(self.lifetime_secs).unwrap_or(i64::MAX));
        let claims = Claims {
            sub: user_id.to_string(),
            username: username.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            nbf: now,
            exp,
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("signing a token: {e}")))
    }

    fn check(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_nbf = true;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    username: String,
    aud: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
}

/// `POST /auth/token`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

/// A token for `Authorization: Bearer`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
}

/// Create a token from a username and password.
#[utoipa::path(post, path = "/auth/token", tag = "Login", request_body = LoginBody,
    responses(
        (status = 201, body = LoginResponse),
        (status = 401, body = HttpExceptionResponse, description = "Invalid credentials"),
        (status = 422, body = crate::error::HttpValidationError),
        (status = 429, body = HttpExceptionResponse, description = "Account locked after failed attempts"),
    ))]
async fn create_token(
    State(state): State<ApiState>,
    Body(body): Body<LoginBody>,
) -> ApiResult<(StatusCode, axum::Json<LoginResponse>)> {
    let mut tx = state.pool.begin().await?;
    let verdict = credentials::check(&mut tx, &body.username, &body.password).await?;
    tx.commit().await?;
    match verdict {
        Verdict::Valid { user_id } => {
            let access_token = state.tokens.issue(user_id, &body.username)?;
            Ok((
                StatusCode::CREATED,
                axum::Json(LoginResponse { access_token }),
            ))
        }
        Verdict::Invalid => Err(ApiError::Unauthorized("Invalid credentials".to_owned())),
        Verdict::Locked { until } => Err(ApiError::TooManyRequests(credentials::locked_message(
            until,
        ))),
    }
}

/// The holder of this request's valid token (an active user), with roles.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    pub roles: Vec<String>,
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> ApiResult<Self> {
        let not_authenticated = || ApiError::Unauthorized("Not authenticated".to_owned());
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(not_authenticated)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(not_authenticated)?;
        let invalid = || ApiError::Unauthorized("Invalid JWT token".to_owned());
        let claims = state.tokens.check(token).ok_or_else(invalid)?;
        let user_id: i64 = claims.sub.parse().map_err(|_| invalid())?;
        let mut conn = state.pool.acquire().await?;
        // A deactivated or deleted account's tokens stop working at once.
        let user = users::active(&mut conn, user_id)
            .await?
            .ok_or_else(invalid)?;
        Ok(Self {
            user_id: user.user_id,
            username: user.username,
            roles: user.roles,
        })
    }
}

impl Caller {
    /// Refuses an action none of the caller's roles allows (403).
    pub fn require(&self, action: Action) -> ApiResult<()> {
        if any_allowed(&self.roles, action) {
            return Ok(());
        }
        let roles = if self.roles.is_empty() {
            "no role".to_owned()
        } else {
            self.roles.join(", ")
        };
        Err(ApiError::Forbidden(format!(
            "Forbidden: your role ({roles}) may not {}.",
            action.describe()
        )))
    }

    /// Writes the audit row of a change made through the API, in the
    /// change's transaction: `extra` gets `"source": "rest_api"`.
    pub async fn audit(
        &self,
        conn: &mut sqlx::PgConnection,
        event: &str,
        dag_id: Option<&str>,
        mut extra: serde_json::Value,
    ) -> ApiResult<()> {
        if let Some(map) = extra.as_object_mut() {
            map.insert("source".into(), "rest_api".into());
        }
        let entry = audit::AuditEntry {
            event,
            owner: &self.username,
            dag_id,
            extra,
        };
        audit::record(conn, &entry).await?;
        Ok(())
    }
}
