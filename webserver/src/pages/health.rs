//! `/health` (Airflow's shape, from `core::store::health`) and `/metrics`
//! (Prometheus text): public, no session, as in Airflow.
//!
//! `/metrics` renders this process's registry. The metrics facade has one
//! recorder per process, so the exporter is process-wide too: the binary
//! installs it once ([`install_prometheus`]) and every router renders it.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use updraft_core::store::health::{self, Health, Thresholds};

use crate::AppState;

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as this process's metrics recorder.
/// Once per process; a second call is a no-op.
pub fn install_prometheus() -> Result<(), String> {
    if PROMETHEUS.get().is_some() {
        return Ok(());
    }
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("installing the Prometheus recorder: {e}"))?;
    let _ = PROMETHEUS.set(handle);
    Ok(())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .merge(metrics_router())
}

/// `/metrics` alone, for processes without the web UI (`--metrics-port`).
pub fn metrics_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/metrics", get(metrics))
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(health::check(&state.pool, &Thresholds::default(), chrono::Utc::now()).await)
}

async fn metrics() -> Response {
    let Some(handle) = PROMETHEUS.get() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "no metrics recorder is installed in this process\n",
        )
            .into_response();
    };
    // Drains histogram buckets; without an HTTP listener of its own the
    // exporter relies on its caller for this.
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
