//! Everything that embeds CPython (PyO3): the DAG parse server (a child
//! process started by the DAG processor) and the Python task runner (a child
//! process started by the worker).
//! The `airflow` compatibility package and `updraft_runtime` live in
//! `airflow_compat/` and are compiled into the binary; [`compat::extract`]
//! writes them to disk once per content hash.
//!
//! Only this crate links libpython. It must never be entered from a
//! multi-threaded process that forks (see docs/adr/0002-embedded-python.md).

pub mod compat;
pub mod parse_server;
pub mod task_server;

pub use parse_server::{ParseServerOptions, run_parse_server};
pub use task_server::run_task_server;

/// Errors raised while starting embedded Python.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    #[error("extracting the airflow compatibility package to {path}: {source}")]
    Extract {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("python: {0}")]
    Python(String),
}
