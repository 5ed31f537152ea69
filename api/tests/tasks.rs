//! A DAG's tasks through the API router on a real PostgreSQL database.

mod common;

use axum::http::StatusCode;
use common::{Api, chain_dag};

// Invariant: the tasks come from the stored DAG, ordered as asked; unknown DAG or task is 404; a bad order 400; no token 401.
#[tokio::test]
async fn tasks_of_a_dag() {
    let api = Api::new().await;
    api.store_dag(&chain_dag("d", &[])).await;
    let token = api.token_for("Viewer").await;
    let r = api.get("/api/v2/dags/d/tasks", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["total_entries"], 3);
    let ids: Vec<&str> = r.body["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["task_id"].as_str())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let desc = api
        .get("/api/v2/dags/d/tasks?order_by=-task_id", &token)
        .await;
    assert_eq!(desc.body["tasks"][0]["task_id"], "c");

    let b = api.get("/api/v2/dags/d/tasks/b", &token).await;
    assert_eq!(b.status, StatusCode::OK, "{b:?}");
    assert_eq!(b.body["operator_name"], "EmptyOperator");
    assert_eq!(b.body["downstream_task_ids"], serde_json::json!(["c"]));
    assert_eq!(b.body["trigger_rule"], "all_success");
    assert_eq!(b.body["depends_on_past"], false);
    assert_eq!(b.body["is_mapped"], false);

    assert_eq!(
        api.get("/api/v2/dags/d/tasks/zz", &token).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/api/v2/dags/nope/tasks", &token).await.status,
        StatusCode::NOT_FOUND
    );
    let bad = api.get("/api/v2/dags/d/tasks?order_by=bogus", &token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let anon = api.call("GET", "/api/v2/dags/d/tasks", None, None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
}
