//! `GET /version` and `GET /monitor/health` (`core::store::health::check`:
//! the metadatabase and the heartbeats). Both are public, as in Airflow.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use updraft_core::store::health::{self, Thresholds};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_version))
        .routes(routes!(get_health))
}

/// `VersionInfo`: Updraft's version (it implements Airflow 3.1's API).
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionInfo {
    pub version: String,
    pub git_version: Option<String>,
}

/// Get the version.
#[utoipa::path(get, path = "/version", tag = "Version", security(()),
    responses((status = 200, body = VersionInfo)))]
async fn get_version() -> axum::Json<VersionInfo> {
    axum::Json(VersionInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        git_version: None,
    })
}

/// A component's status (`healthy`, `unhealthy`, or null: not reported).
#[derive(Debug, Serialize, ToSchema)]
pub struct BaseInfo {
    pub status: Option<Status>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulerInfo {
    pub status: Option<Status>,
    pub latest_scheduler_heartbeat: Option<DateTime<Utc>>,
}

/// Updraft runs no triggerer: always null, as an Airflow without one.
#[derive(Debug, Serialize, ToSchema)]
pub struct TriggererInfo {
    pub status: Option<Status>,
    pub latest_triggerer_heartbeat: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DagProcessorInfo {
    pub status: Option<Status>,
    pub latest_dag_processor_heartbeat: Option<DateTime<Utc>>,
}

/// Updraft's addition: its workers.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkersInfo {
    pub status: Option<Status>,
    pub alive: i64,
    pub latest_worker_heartbeat: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    Unhealthy,
}

impl From<health::Status> for Status {
    fn from(s: health::Status) -> Self {
        match s {
            health::Status::Healthy => Self::Healthy,
            health::Status::Unhealthy => Self::Unhealthy,
        }
    }
}

/// `HealthInfoResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthInfoResponse {
    pub metadatabase: BaseInfo,
    pub scheduler: SchedulerInfo,
    pub triggerer: TriggererInfo,
    pub dag_processor: DagProcessorInfo,
    pub workers: WorkersInfo,
}

impl From<health::Health> for HealthInfoResponse {
    fn from(h: health::Health) -> Self {
        Self {
            metadatabase: BaseInfo {
                status: Some(h.metadatabase.status.into()),
            },
            scheduler: SchedulerInfo {
                status: h.scheduler.status.map(Into::into),
                latest_scheduler_heartbeat: h.scheduler.latest_scheduler_heartbeat,
            },
            triggerer: TriggererInfo {
                status: h.triggerer.status.map(Into::into),
                latest_triggerer_heartbeat: h.triggerer.latest_triggerer_heartbeat,
            },
            dag_processor: DagProcessorInfo {
                status: h.dag_processor.status.map(Into::into),
                latest_dag_processor_heartbeat: h.dag_processor.latest_dag_processor_heartbeat,
            },
            workers: WorkersInfo {
                status: h.workers.status.map(Into::into),
                alive: h.workers.alive,
                latest_worker_heartbeat: h.workers.latest_worker_heartbeat,
            },
        }
    }
}

/// Get the health: the metadatabase and each component's latest heartbeat
/// (`core::store::health::check`, as the webserver's `/health`).
#[utoipa::path(get, path = "/monitor/health", tag = "Monitor", security(()),
    responses((status = 200, body = HealthInfoResponse)))]
async fn get_health(State(state): State<ApiState>) -> axum::Json<HealthInfoResponse> {
    let h = health::check(&state.pool, &Thresholds::default(), Utc::now()).await;
    axum::Json(h.into())
}
