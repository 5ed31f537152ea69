//! `GET /api/v2/monitor/health` on a real PostgreSQL database: the
//! heartbeats of `core::store::health::check` in Airflow's shape.

mod common;

use axum::http::StatusCode;
use common::Api;
use updraft_core::store::jobs::{self, JobType};

// Invariant: without jobs the components are null; a running scheduler that beat is healthy with its heartbeat; a stale one is unhealthy.
#[tokio::test]
async fn health_reports_heartbeats() {
    let api = Api::new().await;
    let h = api.call("GET", "/api/v2/monitor/health", None, None).await;
    assert_eq!(h.status, StatusCode::OK, "{h:?}");
    assert_eq!(h.body["metadatabase"]["status"], "healthy");
    assert!(h.body["scheduler"]["status"].is_null(), "{h:?}");
    assert!(h.body["scheduler"]["latest_scheduler_heartbeat"].is_null());
    assert!(h.body["triggerer"]["status"].is_null());
    assert!(
        h.body["triggerer"]
            .as_object()
            .is_some_and(|t| t.contains_key("latest_triggerer_heartbeat"))
    );
    assert!(h.body["dag_processor"]["status"].is_null());

    let mut conn = api.pool().acquire().await.expect("conn");
    let id = jobs::register(&mut conn, JobType::Scheduler, "host", 1)
        .await
        .expect("job");
    jobs::register(&mut conn, JobType::DagProcessor, "host", 2)
        .await
        .expect("job");
    let h = api.call("GET", "/api/v2/monitor/health", None, None).await;
    assert_eq!(h.body["scheduler"]["status"], "healthy", "{h:?}");
    assert!(h.body["scheduler"]["latest_scheduler_heartbeat"].is_string());
    assert_eq!(h.body["dag_processor"]["status"], "healthy", "{h:?}");

    sqlx::query("UPDATE job SET latest_heartbeat = now() - interval '10 minutes' WHERE id = $1")
        .bind(id)
        .execute(api.pool())
        .await
        .expect("stale");
    let h = api.call("GET", "/api/v2/monitor/health", None, None).await;
    assert_eq!(h.body["scheduler"]["status"], "unhealthy", "{h:?}");
}
