//! Tokens and roles through the API router on a real PostgreSQL database:
//! `POST /auth/token` (201, 401, 422, the shared sign-in throttle), bearer
//! checks (401 without or with a bad token), and 403 for a Viewer's change.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Api, chain_dag};
use serde_json::json;

// Invariant: a right password gets a token that opens the API; a wrong one gets 401 in FastAPI's shape.
#[tokio::test]
async fn token_from_password() {
    let api = Api::new().await;
    api.user("ada", "s3cret", "Viewer").await;
    let ok = api
        .call(
            "POST",
            "/auth/token",
            None,
            Some(json!({"username": "ada", "password": "s3cret"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
    let token = ok.body["access_token"].as_str().expect("access_token");
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    let dags = api.get("/api/v2/dags", token).await;
    assert_eq!(dags.status, StatusCode::OK, "{dags:?}");

    let bad = api
        .call(
            "POST",
            "/auth/token",
            None,
            Some(json!({"username": "ada", "password": "nope"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.body, json!({"detail": "Invalid credentials"}));
    let nobody = api
        .call(
            "POST",
            "/auth/token",
            None,
            Some(json!({"username": "eve", "password": "x"})),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
}

// Invariant: failed tokens count toward the UI's lockout: the 5th failure locks, even the right password is then refused.
#[tokio::test]
async fn token_attempts_share_the_sign_in_throttle() {
    let api = Api::new().await;
    api.user("ada", "s3cret", "Admin").await;
    for _ in 0..4 {
        let r = api
            .call(
                "POST",
                "/auth/token",
                None,
                Some(json!({"username": "ada", "password": "x"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let fifth = api
        .call(
            "POST",
            "/auth/token",
            None,
            Some(json!({"username": "ada", "password": "x"})),
        )
        .await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS, "{fifth:?}");
    let right = api
        .call(
            "POST",
            "/auth/token",
            None,
            Some(json!({"username": "ada", "password": "s3cret"})),
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "{right:?}");
    assert!(
        right.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("locked")),
        "{right:?}"
    );
}

// Invariant: a malformed token request is a 422 with pydantic-style items, never a 500.
#[tokio::test]
async fn bad_token_requests_are_422() {
    let api = Api::new().await;
    let missing = api
        .call(
            "POST",
            "/auth/token",
            None,
            Some(json!({"username": "ada"})),
        )
        .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{missing:?}"
    );
    assert_eq!(missing.body["detail"][0]["loc"], json!(["body"]));
    assert!(
        missing.body["detail"][0]["msg"]
            .as_str()
            .is_some_and(|m| m.contains("password"))
    );
    let req = Request::post("/auth/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .expect("request");
    let broken = api.send(req).await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(broken.body["detail"][0]["type"], "json_invalid");
}

// Invariant: without a token, with a forged one, or for a deactivated user, every API route is 401.
#[tokio::test]
async fn routes_need_a_valid_token() {
    let api = Api::new().await;
    let none = api.call("GET", "/api/v2/dags", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body, json!({"detail": "Not authenticated"}));
    let forged = api.get("/api/v2/dags", "eyJhbGciOiJIUzI1NiJ9.e30.x").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let token = api.token_for("Admin").await;
    sqlx::query("UPDATE app_user SET active = false WHERE username = 'u_admin'")
        .execute(api.pool())
        .await
        .expect("deactivate");
    let gone = api.get("/api/v2/dags", &token).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED, "{gone:?}");

    // A token signed by another process's secret is not accepted here.
    let other = Api::new().await;
    let foreign = other.token_for("Admin").await;
    assert_eq!(
        api.get("/api/v2/dags", &foreign).await.status,
        StatusCode::UNAUTHORIZED
    );
}

// Invariant: a Viewer reads but every change is 403 and changes nothing.
#[tokio::test]
async fn viewer_cannot_change() {
    let api = Api::new().await;
    api.store_dag(&chain_dag("d", &[])).await;
    let viewer = api.token_for("Viewer").await;
    let before = api.get("/api/v2/dags/d", &viewer).await;
    assert_eq!(before.status, StatusCode::OK);
    let was_paused = before.body["is_paused"].as_bool().expect("is_paused");
    let changes = [
        ("PATCH", "/api/v2/dags/d", json!({"is_paused": !was_paused})),
        (
            "POST",
            "/api/v2/dags/d/dagRuns",
            json!({"logical_date": null}),
        ),
        (
            "POST",
            "/api/v2/variables",
            json!({"key": "k", "value": "v"}),
        ),
        (
            "POST",
            "/api/v2/dags/d/clearTaskInstances",
            json!({"dry_run": false}),
        ),
    ];
    for (method, path, body) in changes {
        let r = api.call(method, path, Some(&viewer), Some(body)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}: {r:?}");
        assert!(
            r.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("Viewer")),
            "{r:?}"
        );
    }
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM dag_run")
        .fetch_one(api.pool())
        .await
        .expect("count");
    assert_eq!(runs, 0);
    let paused: bool = sqlx::query_scalar("SELECT is_paused FROM dag WHERE dag_id = 'd'")
        .fetch_one(api.pool())
        .await
        .expect("paused");
    assert_eq!(paused, was_paused);
}

// Invariant: the OpenAPI document is served, describes the routes, and declares bearer auth.
#[tokio::test]
async fn openapi_document_is_served() {
    let api = Api::new().await;
    for path in ["/api/v2/openapi.json", "/openapi.json"] {
        let r = api.call("GET", path, None, None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3."))
        );
        let paths = r.body["paths"].as_object().expect("paths");
        for p in [
            "/api/v2/dags",
            "/api/v2/dags/{dag_id}",
            "/api/v2/dags/{dag_id}/dagRuns",
            "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}",
            "/api/v2/variables/{variable_key}",
            "/auth/token",
        ] {
            assert!(paths.contains_key(p), "{p} missing");
        }
        assert!(r.body["components"]["securitySchemes"]["HTTPBearer"].is_object());
    }
    let unknown = api.call("GET", "/api/v2/nope", None, None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body, json!({"detail": "Not Found"}));
}
