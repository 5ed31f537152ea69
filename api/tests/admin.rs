//! Connections, pools and import errors through the API router on a real
//! PostgreSQL database: CRUD with their 4xx, the password never returned,
//! pool slot counts, and who may do what.

mod common;

use axum::http::StatusCode;
use common::{Api, chain_dag};
use serde_json::json;
use updraft_core::model::ParseError;
use updraft_core::store::import_errors;

// Invariant: a connection's password is stored but never appears in any answer.
#[tokio::test]
async fn connections_crud_never_return_passwords() {
    let api = Api::new().await;
    let op = api.token_for("Op").await;
    let body = json!({"connection_id": "pg1", "conn_type": "postgres", "host": "db", "port": 5432,
                      "login": "ada", "password": "hunter2", "extra": "{\"sslmode\": \"require\"}"});
    let created = api
        .call("POST", "/api/v2/connections", Some(&op), Some(body.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["host"], "db");
    assert!(created.body["password"].is_null());
    let dup = api
        .call("POST", "/api/v2/connections", Some(&op), Some(body))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    for path in ["/api/v2/connections", "/api/v2/connections/pg1"] {
        let r = api.get(path, &op).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.text.contains("hunter2"), "{path}: {}", r.text);
    }
    let patched = api
        .call(
            "PATCH",
            "/api/v2/connections/pg1",
            Some(&op),
            Some(json!({"connection_id": "pg1", "conn_type": "postgres", "host": "db2"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    assert_eq!(patched.body["host"], "db2");
    let stored: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT password FROM connection WHERE conn_id = 'pg1'")
            .fetch_one(api.pool())
            .await
            .expect("row");
    assert_eq!(
        stored.as_deref(),
        Some(&b"hunter2"[..]),
        "a patch without a password keeps it"
    );
    let bad = api
        .call(
            "POST",
            "/api/v2/connections",
            Some(&op),
            Some(json!({"connection_id": "a b", "conn_type": "x"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let viewer = api.token_for("Viewer").await;
    assert_eq!(
        api.get("/api/v2/connections/pg1", &viewer).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api.call("DELETE", "/api/v2/connections/pg1", Some(&op), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.get("/api/v2/connections/pg1", &op).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.audit("connection_create").await[0].1["source"],
        "rest_api"
    );
}

// Invariant: pools are created, changed and deleted; default_pool is protected; slots are counted.
#[tokio::test]
async fn pools_crud_and_slots() {
    let api = Api::new().await;
    let op = api.token_for("Op").await;
    let created = api
        .call(
            "POST",
            "/api/v2/pools",
            Some(&op),
            Some(json!({"name": "p1", "slots": 3, "description": "three"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["open_slots"], 3);
    assert_eq!(
        api.call(
            "POST",
            "/api/v2/pools",
            Some(&op),
            Some(json!({"name": "p1", "slots": 1}))
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        api.call(
            "POST",
            "/api/v2/pools",
            Some(&op),
            Some(json!({"name": "p2", "slots": -5}))
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let patched = api
        .call(
            "PATCH",
            "/api/v2/pools/p1",
            Some(&op),
            Some(json!({"slots": 5})),
        )
        .await;
    assert_eq!(patched.body["slots"], 5);
    assert_eq!(patched.body["description"], "three");

    // A task instance queued in p1 holds a slot.
    api.store_dag(&chain_dag("d", &[])).await;
    let user = api.token_for("User").await;
    let run = api
        .call(
            "POST",
            "/api/v2/dags/d/dagRuns",
            Some(&user),
            Some(json!({"dag_run_id": "r", "logical_date": null})),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK);
    sqlx::query("UPDATE task_instance SET pool = 'p1', state = 'queued', queued_at = now() WHERE task_id = 'a'")
        .execute(api.pool())
        .await
        .expect("use p1");
    let p1 = api.get("/api/v2/pools/p1", &op).await;
    assert_eq!(p1.body["queued_slots"], 1);
    assert_eq!(p1.body["occupied_slots"], 1);
    assert_eq!(p1.body["open_slots"], 4);
    let default = api
        .call("DELETE", "/api/v2/pools/default_pool", Some(&op), None)
        .await;
    assert_eq!(default.status, StatusCode::BAD_REQUEST);
    let list = api.get("/api/v2/pools", &user).await;
    assert_eq!(list.body["total_entries"], 2);
    assert_eq!(
        api.call(
            "PATCH",
            "/api/v2/pools/p1",
            Some(&user),
            Some(json!({"slots": 1}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

// Invariant: import errors list and read by id; an unknown or malformed id is a 4xx.
#[tokio::test]
async fn import_errors_list_and_get() {
    let api = Api::new().await;
    let mut conn = api.pool().acquire().await.expect("conn");
    let error: ParseError = serde_json::from_value(json!({
        "kind": "exception", "message": "NameError: x", "line": 3, "traceback": "Traceback..."
    }))
    .expect("parse error");
    import_errors::upsert_many(&mut conn, &[("/dags/bad.py".to_owned(), error)])
        .await
        .expect("store");
    drop(conn);
    let token = api.token_for("Viewer").await;
    let list = api.get("/api/v2/importErrors", &token).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body["total_entries"], 1);
    let e = &list.body["import_errors"][0];
    assert_eq!(e["filename"], "/dags/bad.py");
    assert!(
        e["stack_trace"]
            .as_str()
            .is_some_and(|s| s.contains("NameError"))
    );
    let id = e["import_error_id"].as_i64().expect("id");
    let one = api.get(&format!("/api/v2/importErrors/{id}"), &token).await;
    assert_eq!(one.body["filename"], "/dags/bad.py");
    assert_eq!(
        api.get("/api/v2/importErrors/999999", &token).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/api/v2/importErrors/abc", &token).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
