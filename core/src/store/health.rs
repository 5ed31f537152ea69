//! `/health` in Airflow's shape (`GET /health` in 2.x, `/api/v2/monitor/health`
//! in 3.x): the metadatabase, then each component's status and latest
//! heartbeat. Shared by the webserver's `/health` and the REST API's health
//! endpoints. It never fails: a database that cannot be reached is itself
//! the answer (`metadatabase` unhealthy, heartbeats unknown).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::jobs::{self, JobType, LatestJob};
use super::workers;

/// `healthy` or `unhealthy`, Airflow's two words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    Unhealthy,
}

impl Status {
    fn from_ok(ok: bool) -> Self {
        if ok { Self::Healthy } else { Self::Unhealthy }
    }
}

/// How old a heartbeat may be and still count as alive. Airflow's
/// `[scheduler] scheduler_health_check_threshold` is 30 s; the DAG processor
/// beats once per refresh, so it gets more.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub scheduler: Duration,
    pub dag_processor: Duration,
    pub worker: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            scheduler: Duration::from_secs(30),
            dag_processor: Duration::from_secs(60),
            worker: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetadatabaseHealth {
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchedulerHealth {
    /// `None` when no scheduler ever ran (Airflow says null too).
    pub status: Option<Status>,
    pub latest_scheduler_heartbeat: Option<DateTime<Utc>>,
}

/// Updraft has no triggerer: both fields are always null, as in an Airflow
/// that runs none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TriggererHealth {
    pub status: Option<Status>,
    pub latest_triggerer_heartbeat: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DagProcessorHealth {
    pub status: Option<Status>,
    pub latest_dag_processor_heartbeat: Option<DateTime<Utc>>,
}

/// Updraft's own addition: its workers (Airflow's executors report none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkersHealth {
    pub status: Option<Status>,
    /// Running workers whose heartbeat is within the threshold.
    pub alive: i64,
    pub latest_worker_heartbeat: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub metadatabase: MetadatabaseHealth,
    pub scheduler: SchedulerHealth,
    pub triggerer: TriggererHealth,
    pub dag_processor: DagProcessorHealth,
    pub workers: WorkersHealth,
}

/// A job is healthy when it is running and beat within `threshold` of `now`.
fn job_status(job: Option<&LatestJob>, threshold: Duration, now: DateTime<Utc>) -> Option<Status> {
    job.map(|j| Status::from_ok(j.state == "running" && fresh(j.latest_heartbeat, threshold, now)))
}

fn fresh(beat: DateTime<Utc>, threshold: Duration, now: DateTime<Utc>) -> bool {
    chrono::Duration::from_std(threshold).is_ok_and(|t| now - beat <= t)
}

/// The health of everything at `now`.
pub async fn check(pool: &PgPool, limits: &Thresholds, now: DateTime<Utc>) -> Health {
    match read(pool, limits, now).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "health check: the metadatabase is not reachable");
            Health {
                metadatabase: MetadatabaseHealth {
                    status: Status::Unhealthy,
                },
                scheduler: SchedulerHealth {
                    status: None,
                    latest_scheduler_heartbeat: None,
                },
                triggerer: TriggererHealth {
                    status: None,
                    latest_triggerer_heartbeat: None,
                },
                dag_processor: DagProcessorHealth {
                    status: None,
                    latest_dag_processor_heartbeat: None,
                },
                workers: WorkersHealth {
                    status: None,
                    alive: 0,
                    latest_worker_heartbeat: None,
                },
            }
        }
    }
}

async fn read(pool: &PgPool, limits: &Thresholds, now: DateTime<Utc>) -> crate::Result<Health> {
    let mut conn = pool.acquire().await?;
    let scheduler = jobs::latest(&mut conn, JobType::Scheduler).await?;
    let processor = jobs::latest(&mut conn, JobType::DagProcessor).await?;
    let since = now - chrono::Duration::from_std(limits.worker).unwrap_or_default();
    let (alive, latest_worker) = workers::alive_since(&mut conn, since).await?;
    Ok(Health {
        metadatabase: MetadatabaseHealth {
            status: Status::Healthy,
        },
        scheduler: SchedulerHealth {
            status: job_status(scheduler.as_ref(), limits.scheduler, now),
            latest_scheduler_heartbeat: scheduler.map(|j| j.latest_heartbeat),
        },
        triggerer: TriggererHealth {
            status: None,
            latest_triggerer_heartbeat: None,
        },
        dag_processor: DagProcessorHealth {
            status: job_status(processor.as_ref(), limits.dag_processor, now),
            latest_dag_processor_heartbeat: processor.map(|j| j.latest_heartbeat),
        },
        workers: WorkersHealth {
            status: latest_worker.map(|_| Status::from_ok(alive > 0)),
            alive,
            latest_worker_heartbeat: latest_worker,
        },
    })
}
