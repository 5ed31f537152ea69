//! A component's row in the `job` table, beaten from its own loop so that a
//! stuck loop shows as a stale heartbeat in `/health`. Registered on the
//! first beat (the database may be down when the component starts), beaten
//! at most every [`BEAT`]; a failed beat is logged once per outage.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::store::jobs::{self, JobType};

/// How often a component writes its heartbeat (Airflow's
/// `[scheduler] scheduler_heartbeat_sec` default).
pub const BEAT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct JobHeartbeat {
    job_type: JobType,
    id: Option<i64>,
    last: Option<Instant>,
    failing: bool,
}

impl JobHeartbeat {
    pub fn new(job_type: JobType) -> Self {
        Self {
            job_type,
            id: None,
            last: None,
            failing: false,
        }
    }

    /// Beats when [`BEAT`] has passed since the last beat; `true` when it
    /// wrote one.
    pub async fn beat(&mut self, pool: &PgPool) -> bool {
        if self.last.is_some_and(|t| t.elapsed() < BEAT) {
            return false;
        }
        match self.write(pool).await {
            Ok(()) => {
                self.last = Some(Instant::now());
                self.failing = false;
                true
            }
            Err(e) => {
                if !self.failing {
                    tracing::warn!(job = self.job_type.as_str(), error = %e, "heartbeat failed");
                }
                self.failing = true;
                false
            }
        }
    }

    async fn write(&mut self, pool: &PgPool) -> crate::Result<()> {
        let mut conn = pool.acquire().await?;
        // A row ended by someone else (or gone) is replaced by a new one.
        if let Some(id) = self.id
            && jobs::heartbeat(&mut conn, id).await?
        {
            return Ok(());
        }
        let pid = i32::try_from(std::process::id()).unwrap_or(0);
        self.id = Some(jobs::register(&mut conn, self.job_type, &super::hostname(), pid).await?);
        Ok(())
    }

    /// Marks the job ended (the component stopped cleanly).
    pub async fn end(self, pool: &PgPool) {
        let Some(id) = self.id else { return };
        let ended = async { jobs::end(&mut *pool.acquire().await?, id).await }.await;
        if let Err(e) = ended {
            tracing::debug!(error = %e, "could not mark the job ended");
        }
    }
}
