//! `/api/v1`'s error: the shared [`ApiError`] in Airflow 2's problem shape,
//! `{"title", "status", "detail", "type"}` (connexion's RFC 7807 body).
//! A 422 of the shared handlers is a 400 here, as Airflow 2 validates
//! requests against its spec and answers 400.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use axum::extract::FromRequestParts;

use crate::error::ApiError;
use crate::extract::Params;

/// Where Airflow 2.10's error types point.
const TYPE_BASE: &str = "https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html#section/Errors/";

/// The body of every `/api/v1` 4xx/5xx.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    pub title: String,
    pub status: u16,
    pub detail: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug)]
pub struct V1Error(pub ApiError);

pub type V1Result<T> = Result<T, V1Error>;

impl<E: Into<ApiError>> From<E> for V1Error {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl V1Error {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self(ApiError::BadRequest(detail.into()))
    }

    /// Status, title and the last part of `type`, as Airflow 2 names them.
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match &self.0 {
            ApiError::BadRequest(_) | ApiError::Validation(_) => {
                (StatusCode::BAD_REQUEST, "Bad Request", "BadRequest")
            }
            ApiError::Unauthorized(_) => {
                (StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthenticated")
            }
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden", "PermissionDenied"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "Not Found", "NotFound"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "Conflict", "AlreadyExists"),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                "BadRequest",
            ),
            ApiError::TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "Unauthenticated",
            ),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                "BadRequest",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                "Unknown",
            ),
        }
    }

    fn detail(&self) -> String {
        match &self.0 {
            ApiError::Validation(items) => items
                .iter()
                .map(|i| format!("{}: {}", i.loc.join("."), i.msg))
                .collect::<Vec<_>>()
                .join("; "),
            ApiError::Internal(message) => {
                tracing::error!(error = %message, "REST API v1 request failed");
                "Internal server error".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        let (status, title, kind) = self.parts();
        let body = ProblemBody {
            title: title.to_owned(),
            status: status.as_u16(),
            detail: Some(self.detail()),
            kind: format!("{TYPE_BASE}{kind}"),
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        }
        response
    }
}

/// A JSON body whose rejection is a v1 error.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(V1Error))]
pub struct Json<T>(pub T);

/// Path segments whose rejection is a v1 error.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(V1Error))]
pub struct PathOf<T>(pub T);

/// The query string's pairs ([`Params`]) whose rejection (a NUL byte) is a
/// v1 error, not the shared handlers' 422 shape.
#[derive(Debug)]
pub struct Query(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = V1Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, V1Error> {
        Ok(Query(Params::from_request_parts(parts, state).await?))
    }
}
