//! The `job` table (Airflow's): the scheduler and the DAG processor each
//! register a row when they start, beat it from their loops, and end it when
//! they stop. `/health` reads the latest row of each type.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::Result;

/// A long-running component with a heartbeat row (the table also allows
/// `triggerer` and `webserver`, which Updraft does not run as jobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobType {
    Scheduler,
    DagProcessor,
}

impl JobType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduler => "scheduler",
            Self::DagProcessor => "dag_processor",
        }
    }
}

/// Inserts a `running` job for this process; its id.
pub async fn register(
    conn: &mut PgConnection,
    job_type: JobType,
    hostname: &str,
    pid: i32,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO job (job_type, hostname, pid, state) VALUES ($1, $2, $3, 'running')
         RETURNING id",
    )
    .bind(job_type.as_str())
    .bind(hostname)
    .bind(pid)
    .fetch_one(conn)
    .await?)
}

/// Records that a running job is alive. `false`: it is no longer running.
pub async fn heartbeat(conn: &mut PgConnection, id: i64) -> Result<bool> {
    let done =
        sqlx::query("UPDATE job SET latest_heartbeat = now() WHERE id = $1 AND state = 'running'")
            .bind(id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// `running` → `success` with `ended_at`: the component stopped cleanly.
pub async fn end(conn: &mut PgConnection, id: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE job SET state = 'success', ended_at = now() WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The most recently beating job of a type: its state and heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LatestJob {
    pub state: String,
    pub latest_heartbeat: DateTime<Utc>,
}

/// The job of `job_type` with the latest heartbeat, `None` when none ever ran.
pub async fn latest(conn: &mut PgConnection, job_type: JobType) -> Result<Option<LatestJob>> {
    Ok(sqlx::query_as(
        "SELECT state, latest_heartbeat FROM job WHERE job_type = $1
          ORDER BY latest_heartbeat DESC, id DESC LIMIT 1",
    )
    .bind(job_type.as_str())
    .fetch_optional(conn)
    .await?)
}
