//! `GET/PATCH /api/v2/dags...` through the router on a real PostgreSQL
//! database: paging, filters, ordering, the response shape, pause with its
//! audit row, details, and 4xx for bad input.

mod common;

use axum::http::StatusCode;
use common::{Api, chain_dag};
use serde_json::{Value, json};

async fn three_dags() -> (Api, String) {
    let api = Api::new().await;
    api.store_dag(&chain_dag("alpha", &["etl", "daily"])).await;
    api.store_dag(&chain_dag("beta", &["etl"])).await;
    api.store_dag(&chain_dag("gamma_2", &[])).await;
    let token = api.token_for("User").await;
    (api, token)
}

fn ids(body: &Value) -> Vec<String> {
    body["dags"]
        .as_array()
        .expect("dags")
        .iter()
        .map(|d| d["dag_id"].as_str().expect("dag_id").to_owned())
        .collect()
}

// Invariant: limit/offset page the list while total_entries counts every match.
#[tokio::test]
async fn list_pages_and_counts() {
    let (api, token) = three_dags().await;
    let all = api.get("/api/v2/dags", &token).await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    assert_eq!(ids(&all.body), ["alpha", "beta", "gamma_2"]);
    assert_eq!(all.body["total_entries"], 3);
    let page = api.get("/api/v2/dags?limit=1&offset=1", &token).await;
    assert_eq!(ids(&page.body), ["beta"]);
    assert_eq!(page.body["total_entries"], 3);
    let past = api.get("/api/v2/dags?offset=10", &token).await;
    assert_eq!(ids(&past.body), Vec::<String>::new());
    assert_eq!(past.body["total_entries"], 3);
    let desc = api.get("/api/v2/dags?order_by=-dag_id", &token).await;
    assert_eq!(ids(&desc.body), ["gamma_2", "beta", "alpha"]);
}

// Invariant: tags (any / all), dag_id_pattern and paused filter as Airflow's do.
#[tokio::test]
async fn list_filters() {
    let (api, token) = three_dags().await;
    let etl = api.get("/api/v2/dags?tags=etl", &token).await;
    assert_eq!(ids(&etl.body), ["alpha", "beta"]);
    let either = api.get("/api/v2/dags?tags=daily&tags=etl", &token).await;
    assert_eq!(ids(&either.body), ["alpha", "beta"]);
    let both = api
        .get(
            "/api/v2/dags?tags=daily&tags=etl&tags_match_mode=all",
            &token,
        )
        .await;
    assert_eq!(ids(&both.body), ["alpha"]);
    let pattern = api.get("/api/v2/dags?dag_id_pattern=ta", &token).await;
    assert_eq!(ids(&pattern.body), ["beta"]);
    let like = api.get("/api/v2/dags?dag_id_pattern=a_2", &token).await;
    assert_eq!(ids(&like.body), ["gamma_2"]);
    let r = api
        .call(
            "PATCH",
            "/api/v2/dags/beta",
            Some(&token),
            Some(json!({"is_paused": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let paused = api.get("/api/v2/dags?paused=true", &token).await;
    assert_eq!(ids(&paused.body), ["beta"]);
    let unpaused = api.get("/api/v2/dags?paused=false", &token).await;
    assert_eq!(ids(&unpaused.body), ["alpha", "gamma_2"]);
}

// Invariant: one DAG carries the fields the official client requires, with Airflow's value shapes.
#[tokio::test]
async fn get_one_in_airflows_shape() {
    let (api, token) = three_dags().await;
    let r = api.get("/api/v2/dags/alpha", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let d = &r.body;
    assert_eq!(d["dag_id"], "alpha");
    assert_eq!(d["dag_display_name"], "alpha");
    assert_eq!(d["description"], "the alpha DAG");
    assert_eq!(
        d["tags"],
        json!([
            {"name": "daily", "dag_id": "alpha", "dag_display_name": "alpha"},
            {"name": "etl", "dag_id": "alpha", "dag_display_name": "alpha"}
        ])
    );
    assert_eq!(d["owners"], json!(["ada", "bob"]));
    assert_eq!(d["is_stale"], false);
    assert_eq!(d["fileloc"], "/dags/alpha.py");
    assert_eq!(d["relative_fileloc"], "alpha.py");
    for key in [
        "file_token",
        "is_paused",
        "has_import_errors",
        "has_task_concurrency_limits",
        "max_active_tasks",
        "max_consecutive_failed_dag_runs",
        "timetable_partitioned",
    ] {
        assert!(!d[key].is_null(), "{key} missing: {d}");
    }
    assert!(
        d["last_parsed_time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{d}"
    );
    let missing = api.get("/api/v2/dags/nope", &token).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body["detail"]
            .as_str()
            .is_some_and(|m| m.contains("nope"))
    );
}

// Invariant: PATCH pauses and unpauses, answers the DAG, and writes an audit row marked rest_api.
#[tokio::test]
async fn patch_pauses_with_audit() {
    let (api, token) = three_dags().await;
    for paused in [false, true] {
        let r = api
            .call(
                "PATCH",
                "/api/v2/dags/alpha",
                Some(&token),
                Some(json!({"is_paused": paused})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        assert_eq!(r.body["is_paused"], paused);
        let stored: bool = sqlx::query_scalar("SELECT is_paused FROM dag WHERE dag_id = 'alpha'")
            .fetch_one(api.pool())
            .await
            .expect("stored");
        assert_eq!(stored, paused);
    }
    let rows = api.audit("unpaused").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "u_user");
    assert_eq!(rows[0].1["source"], "rest_api");
    assert_eq!(api.audit("paused").await.len(), 1);
    let nope = api
        .call(
            "PATCH",
            "/api/v2/dags/nope",
            Some(&token),
            Some(json!({"is_paused": true})),
        )
        .await;
    assert_eq!(nope.status, StatusCode::NOT_FOUND);
}

// Invariant: bad input is a 4xx with a clear detail, never a 500.
#[tokio::test]
async fn bad_input_is_4xx() {
    let (api, token) = three_dags().await;
    let cases: &[(&str, &str, Option<Value>, StatusCode)] = &[
        (
            "GET",
            "/api/v2/dags?limit=-1",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "GET",
            "/api/v2/dags?limit=ten",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "GET",
            "/api/v2/dags?paused=maybe",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "GET",
            "/api/v2/dags?order_by=password",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/api/v2/dags?tags_match_mode=some",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "PATCH",
            "/api/v2/dags/alpha",
            Some(json!({"is_paused": "yes"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "PATCH",
            "/api/v2/dags/alpha",
            Some(json!({"paused": true})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "PATCH",
            "/api/v2/dags/alpha?update_mask=description",
            Some(json!({"is_paused": true})),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (method, path, body, want) in cases {
        let r = api.call(method, path, Some(&token), body.clone()).await;
        assert_eq!(r.status, *want, "{method} {path}: {r:?}");
        assert!(!r.body["detail"].is_null(), "{method} {path}: {r:?}");
    }
    let big = api.get("/api/v2/dags?limit=1000", &token).await;
    assert_eq!(
        big.status,
        StatusCode::OK,
        "over the maximum is capped, as Airflow"
    );
}

// Invariant: details add what the serialized DAG says (catchup, params, timezone).
#[tokio::test]
async fn details_from_the_serialized_dag() {
    let (api, token) = three_dags().await;
    let r = api.get("/api/v2/dags/alpha/details", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["dag_id"], "alpha");
    assert_eq!(r.body["catchup"], false);
    assert_eq!(r.body["start_date"], "2026-01-01T00:00:00+00:00");
    assert!(r.body["concurrency"].is_number());
    assert_eq!(
        api.get("/api/v2/dags/nope/details", &token).await.status,
        StatusCode::NOT_FOUND
    );
}
