//! The HTTP edge's error: database and internal errors become an opaque
//! 500, logged once here; refusals a 403 with their message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Core(#[from] updraft_core::Error),
    #[error("rendering a template: {0}")]
    Template(#[from] askama::Error),
    #[error("{0}")]
    Internal(String),
    /// Refused (wrong CSRF token, or a role without the permission): 403
    /// with this plain message.
    #[error("{0}")]
    Forbidden(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let Self::Forbidden(message) = self {
            return (StatusCode::FORBIDDEN, message).into_response();
        }
        tracing::error!(error = %self, "request failed");
        (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
    }
}

impl From<sqlx::Error> for WebError {
    fn from(e: sqlx::Error) -> Self {
        Self::Core(e.into())
    }
}

pub type WebResult<T> = Result<T, WebError>;
