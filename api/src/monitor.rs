//! `GET /version` and `GET /monitor/health` (the database only: the full
//! health with heartbeats belongs to the observability work). Both are
//! public, as in Airflow.

use axum::extract::State;
use serde::Serialize;
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
    pub status: Option<String>,
}

/// A component with a heartbeat.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatInfo {
    pub status: Option<String>,
    pub latest_scheduler_heartbeat: Option<String>,
}

/// `HealthInfoResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthInfoResponse {
    pub metadatabase: BaseInfo,
    pub scheduler: HeartbeatInfo,
    pub triggerer: HeartbeatInfo,
    pub dag_processor: Option<HeartbeatInfo>,
}

/// Get the health: whether the metadata database answers.
#[utoipa::path(get, path = "/monitor/health", tag = "Monitor", security(()),
    responses((status = 200, body = HealthInfoResponse)))]
async fn get_health(State(state): State<ApiState>) -> axum::Json<HealthInfoResponse> {
    let db_ok = updraft_core::db::ping(&state.pool).await;
    let unknown = || HeartbeatInfo {
        status: None,
        latest_scheduler_heartbeat: None,
    };
    axum::Json(HealthInfoResponse {
        metadatabase: BaseInfo {
            status: Some(if db_ok { "healthy" } else { "unhealthy" }.to_owned()),
        },
        scheduler: unknown(),
        triggerer: unknown(),
        dag_processor: None,
    })
}
