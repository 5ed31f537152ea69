//! Variables through the API router on a real PostgreSQL database: create
//! (201, 409), get, list with paging, patch with update_mask, delete; Op
//! may change them, User may not.

mod common;

use axum::http::StatusCode;
use common::Api;
use serde_json::json;

// Invariant: the CRUD cycle stores what it answers, audited as rest_api.
#[tokio::test]
async fn variables_crud() {
    let api = Api::new().await;
    let op = api.token_for("Op").await;
    let created = api
        .call(
            "POST",
            "/api/v2/variables",
            Some(&op),
            Some(json!({"key": "k1", "value": "v1", "description": "first"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(
        created.body,
        json!({"key": "k1", "value": "v1", "description": "first", "is_encrypted": false})
    );
    let json_value = api
        .call(
            "POST",
            "/api/v2/variables",
            Some(&op),
            Some(json!({"key": "k2", "value": {"a": [1, 2]}})),
        )
        .await;
    assert_eq!(json_value.body["value"], "{\"a\":[1,2]}");
    let dup = api
        .call(
            "POST",
            "/api/v2/variables",
            Some(&op),
            Some(json!({"key": "k1", "value": "x"})),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    let got = api.get("/api/v2/variables/k1", &op).await;
    assert_eq!(got.body["value"], "v1");
    let page = api
        .get("/api/v2/variables?limit=1&order_by=-key", &op)
        .await;
    assert_eq!(page.body["total_entries"], 2);
    assert_eq!(page.body["variables"][0]["key"], "k2");

    let patched = api
        .call(
            "PATCH",
            "/api/v2/variables/k1?update_mask=value",
            Some(&op),
            Some(json!({"key": "k1", "value": "v2", "description": "ignored"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    assert_eq!(patched.body["value"], "v2");
    assert_eq!(patched.body["description"], "first");
    let mismatch = api
        .call(
            "PATCH",
            "/api/v2/variables/k1",
            Some(&op),
            Some(json!({"key": "k9", "value": "v"})),
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);

    let deleted = api
        .call("DELETE", "/api/v2/variables/k1", Some(&op), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/api/v2/variables/k1", &op).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.call("DELETE", "/api/v2/variables/k1", Some(&op), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let audit = api.audit("variable_create").await;
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].1["source"], "rest_api");
    assert_eq!(api.audit("variable_delete").await.len(), 1);
}

// Invariant: the User role reads variables but may not change them (Airflow's default roles).
#[tokio::test]
async fn user_role_cannot_change_variables() {
    let api = Api::new().await;
    let user = api.token_for("User").await;
    let r = api
        .call(
            "POST",
            "/api/v2/variables",
            Some(&user),
            Some(json!({"key": "k", "value": "v"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        api.get("/api/v2/variables", &user).await.status,
        StatusCode::OK
    );
    let bad = api
        .call(
            "POST",
            "/api/v2/variables",
            Some(&user),
            Some(json!({"value": "v"})),
        )
        .await;
    assert!(bad.status.is_client_error());
}

// Invariant: version and health answer without a token; health reports the database.
#[tokio::test]
async fn version_and_health_are_public() {
    let api = Api::new().await;
    let v = api.call("GET", "/api/v2/version", None, None).await;
    assert_eq!(v.status, StatusCode::OK);
    assert!(v.body["version"].is_string());
    let h = api.call("GET", "/api/v2/monitor/health", None, None).await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.body["metadatabase"]["status"], "healthy");
}
