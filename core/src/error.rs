//! `core::Error`: the one error type of the core boundary.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("reading configuration file {path}: {message}")]
    ConfigFile { path: PathBuf, message: String },
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidId {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A failure that is nobody's input (a task that panicked).
    #[error("internal: {0}")]
    Internal(String),
    #[error("stored data is malformed ({context}): {source}")]
    Corrupt {
        context: String,
        source: serde_json::Error,
    },
}
