//! `ApiError`: the REST API's one error, in FastAPI's body shape as Airflow 3
//! returns it: `{"detail": "…"}` for 4xx, and for 422 a list of
//! `{"type", "loc", "msg"}`. Bad input (path, query, JSON) is always a 4xx;
//! database and internal errors become an opaque 500, logged here once.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One item of a 422 body (pydantic's validation error).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidationItem {
    /// What failed (`json_invalid`, `missing`, `int_parsing`, `value_error`…).
    #[serde(rename = "type")]
    pub kind: String,
    /// Where: `["body", "conf"]`, `["query", "limit"]`, `["path", "map_index"]`.
    pub loc: Vec<String>,
    pub msg: String,
}

/// A 4xx body: `{"detail": "…"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HttpExceptionResponse {
    pub detail: String,
}

/// A 422 body: `{"detail": [{type, loc, msg}, …]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HttpValidationError {
    pub detail: Vec<ValidationItem>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// No valid token (401, with `WWW-Authenticate: Bearer`).
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A locked account (the sign-in throttle).
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("validation failed")]
    Validation(Vec<ValidationItem>),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 about one field.
    pub fn invalid(loc: &[&str], kind: &str, msg: impl Into<String>) -> Self {
        Self::Validation(vec![ValidationItem {
            kind: kind.to_owned(),
            loc: loc.iter().map(|s| (*s).to_owned()).collect(),
            msg: msg.into(),
        }])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation(items) => {
                let body = HttpValidationError {
                    detail: items.clone(),
                };
                return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
            }
            Self::Internal(message) => {
                tracing::error!(error = %message, "REST API request failed");
                let body = HttpExceptionResponse {
                    detail: "Internal server error".to_owned(),
                };
                return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response();
            }
        };
        let mut response = (
            status,
            axum::Json(HttpExceptionResponse {
                detail: self.to_string(),
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<updraft_core::Error> for ApiError {
    fn from(e: updraft_core::Error) -> Self {
        match e {
            updraft_core::Error::NotFound(what) => Self::NotFound(format!("{what} not found")),
            updraft_core::Error::Database(db) => db.into(),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        // Text PostgreSQL cannot store (a NUL byte in a path, a query or a
        // body, `\u0000` in JSON) is bad input, not a server error.
        if let Some(code) = e.as_database_error().and_then(|d| d.code())
            && matches!(code.as_ref(), "22021" | "22P05")
        {
            return Self::invalid(
                &[],
                "string_type",
                "Input holds a character that cannot be stored (NUL)",
            );
        }
        Self::Internal(format!("database: {e}"))
    }
}

impl From<updraft_scheduler::Error> for ApiError {
    fn from(e: updraft_scheduler::Error) -> Self {
        use updraft_scheduler::Error as E;
        match e {
            E::DagNotFound(_) => Self::NotFound(e.to_string()),
            E::RunExists { .. } => Self::Conflict(e.to_string()),
            E::InvalidConf(_) | E::InvalidRunId(_) => Self::BadRequest(e.to_string()),
            E::Core(core) => core.into(),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType(r.body_text()),
            JsonRejection::JsonSyntaxError(_) => {
                Self::invalid(&["body"], "json_invalid", r.body_text())
            }
            JsonRejection::JsonDataError(_) => {
                Self::invalid(&["body"], "value_error", r.body_text())
            }
            JsonRejection::BytesRejection(_) => Self::PayloadTooLarge(r.body_text()),
            _ => Self::BadRequest(r.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::invalid(&["query"], "value_error", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::invalid(&["path"], "value_error", r.body_text())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
