//! `scheduler::Error`: what creating runs can fail with, in words a CLI or an
//! API can show (unknown DAG, duplicate run id, bad conf) or pass on as
//! internal (database, stored data).

use updraft_core::timetable::TimetableError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("DAG {0:?} not found (or not parsed yet)")]
    DagNotFound(String),
    #[error("DAG run {run_id:?} of DAG {dag_id:?} already exists")]
    RunExists { dag_id: String, run_id: String },
    #[error("invalid conf: {0}")]
    InvalidConf(String),
    #[error("invalid run id {0:?}: use 1 to 250 of the characters A-Z a-z 0-9 _ . ~ : + -")]
    InvalidRunId(String),
    #[error("DAG {dag_id:?}: {source}")]
    Timetable {
        dag_id: String,
        source: TimetableError,
    },
    #[error("DAG {dag_id:?}: stored serialized DAG is malformed: {source}")]
    Corrupt {
        dag_id: String,
        source: serde_json::Error,
    },
    #[error("DAG {dag_id:?}: stored serialized DAG cannot be scheduled: {reason}")]
    Unschedulable { dag_id: String, reason: String },
    #[error("DAG {0:?} has no schedule: it cannot be backfilled")]
    NoSchedule(String),
    #[error("DAG {0:?} has a backfill in progress already: cancel it or wait for it to end")]
    BackfillRunning(String),
    #[error("invalid backfill: {0}")]
    InvalidBackfill(String),
    #[error("backfill {0} not found")]
    BackfillNotFound(i64),
    #[error("backfill {0} has completed already")]
    BackfillCompleted(i64),
    #[error(transparent)]
    Core(#[from] updraft_core::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::Core(e.into())
    }
}
