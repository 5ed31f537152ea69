//! `/api/v1` (Airflow 2.x) through the API router on a real PostgreSQL
//! database: basic auth and roles, Airflow 2's error body, DAGs, runs
//! (trigger with conf and execution_date), task instances, logs, XComs,
//! clear, Variables, Connections, Pools, import errors, health, version.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use common::{Api, Reply, chain_dag};
use serde_json::{Value, json};
use updraft_core::store::task_instances::{self, TiRef};
use updraft_core::store::{task_logs, xcom};

const ERRORS: &str = "https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html#section/Errors/";

fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A v1 request with `authorization` (a whole header value) if given.
async fn v1(
    api: &Api,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/api/v1{path}"));
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    api.send(req).await
}

/// Asserts Airflow 2's problem body with `status` and error `kind`.
fn assert_problem(r: &Reply, status: StatusCode, kind: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.body["status"], status.as_u16(), "{r:?}");
    assert!(r.body["title"].is_string(), "{r:?}");
    assert!(r.body["detail"].is_string(), "{r:?}");
    assert_eq!(r.body["type"], format!("{ERRORS}{kind}"), "{r:?}");
}

/// An API with DAG `d` and a user of `role` (password `pw`).
async fn api_with(role: &str) -> (Api, String) {
    let api = Api::new().await;
    api.store_dag(&chain_dag("d", &["etl"])).await;
    let name = format!("v1_{}", role.to_lowercase());
    api.user(&name, "pw", role).await;
    (api, basic(&name, "pw"))
}

// Invariant: no, wrong or non-basic credentials are a 401 asking for Basic, counted in the sign-in throttle; roles are the UI's; errors are Airflow 2's shape, never 422.
#[tokio::test]
async fn basic_auth_roles_and_errors() {
    let (api, viewer) = api_with("Viewer").await;
    let none = v1(&api, "GET", "/dags", None, None).await;
    assert_problem(&none, StatusCode::UNAUTHORIZED, "Unauthenticated");
    let wrong = v1(
        &api,
        "GET",
        "/dags",
        Some(&basic("v1_viewer", "nope")),
        None,
    )
    .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "Unauthenticated");
    let token = api.token_for("Admin").await;
    let bearer = v1(&api, "GET", "/dags", Some(&format!("Bearer {token}")), None).await;
    assert_problem(&bearer, StatusCode::UNAUTHORIZED, "Unauthenticated");
    let req = Request::builder()
        .uri("/api/v1/dags")
        .body(Body::empty())
        .expect("request");
    let res = tower::ServiceExt::oneshot(api.app.clone(), req)
        .await
        .expect("response");
    assert_eq!(
        res.headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.as_bytes()),
        Some(&b"Basic"[..])
    );

    let ok = v1(&api, "GET", "/dags", Some(&viewer), None).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    let denied = v1(
        &api,
        "PATCH",
        "/dags/d",
        Some(&viewer),
        Some(json!({"is_paused": false})),
    )
    .await;
    assert_problem(&denied, StatusCode::FORBIDDEN, "PermissionDenied");
    let missing = v1(&api, "GET", "/dags/nope", Some(&viewer), None).await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "NotFound");
    let unknown = v1(&api, "GET", "/no/such/path", Some(&viewer), None).await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "NotFound");
    let bad_limit = v1(&api, "GET", "/dags?limit=x", Some(&viewer), None).await;
    assert_problem(&bad_limit, StatusCode::BAD_REQUEST, "BadRequest");
    let bad_order = v1(&api, "GET", "/dags?order_by=nope", Some(&viewer), None).await;
    assert_problem(&bad_order, StatusCode::BAD_REQUEST, "BadRequest");
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/variables")
        .header(header::AUTHORIZATION, basic("u_admin", "pw"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .expect("request");
    assert_problem(&api.send(req).await, StatusCode::BAD_REQUEST, "BadRequest");

    // Wrong basic passwords count in the UI's sign-in throttle: locked, even the right one is refused.
    api.user("v1_locked", "right", "Viewer").await;
    for _ in 0..4 {
        let r = v1(
            &api,
            "GET",
            "/dags",
            Some(&basic("v1_locked", "wrong")),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    }
    let fifth = v1(
        &api,
        "GET",
        "/dags",
        Some(&basic("v1_locked", "wrong")),
        None,
    )
    .await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS, "{fifth:?}");
    let locked = v1(
        &api,
        "GET",
        "/dags",
        Some(&basic("v1_locked", "right")),
        None,
    )
    .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{locked:?}");
    assert_eq!(locked.body["status"], 429);

    let health = v1(&api, "GET", "/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["metadatabase"]["status"], "healthy");
    assert!(health.body["scheduler"].is_object(), "{health:?}");
    let version = v1(&api, "GET", "/version", None, None).await;
    assert!(version.body["version"].is_string(), "{version:?}");
}

// Invariant: DAGs list and patch in the 2.x shape; a trigger stores conf and execution_date and reads back as a DAGRun.
#[tokio::test]
async fn dags_and_dag_runs() {
    let (api, user) = api_with("User").await;
    let list = v1(&api, "GET", "/dags?only_active=true", Some(&user), None).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body["total_entries"], 1);
    let dag = &list.body["dags"][0];
    assert_eq!(dag["dag_id"], "d");
    assert_eq!(dag["tags"], json!([{"name": "etl"}]));
    assert_eq!(dag["owners"], json!(["ada", "bob"]));
    assert_eq!(dag["is_subdag"], false);
    assert!(dag["schedule_interval"].is_null(), "{dag}");
    assert!(dag.get("next_dagrun").is_some(), "{dag}");

    let patched = v1(
        &api,
        "PATCH",
        "/dags/d?update_mask=is_paused",
        Some(&user),
        Some(json!({"is_paused": false})),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    assert_eq!(patched.body["is_paused"], false);
    let no_field = v1(&api, "PATCH", "/dags/d", Some(&user), Some(json!({}))).await;
    assert_problem(&no_field, StatusCode::BAD_REQUEST, "BadRequest");

    let at = "2026-03-01T00:00:00Z";
    let run = v1(
        &api,
        "POST",
        "/dags/d/dagRuns",
        Some(&user),
        Some(json!({"dag_run_id": "r1", "execution_date": at, "conf": {"x": 1}})),
    )
    .await;
    assert_eq!(run.status, StatusCode::OK, "{run:?}");
    assert_eq!(run.body["dag_run_id"], "r1");
    assert_eq!(run.body["conf"], json!({"x": 1}));
    assert_eq!(run.body["state"], "queued");
    assert_eq!(run.body["run_type"], "manual");
    assert_eq!(run.body["external_trigger"], true);
    assert_eq!(run.body["execution_date"], run.body["logical_date"]);
    assert!(
        run.body["execution_date"]
            .as_str()
            .is_some_and(|d| d.starts_with("2026-03-01T00:00:00")),
        "{run:?}"
    );
    let again = v1(
        &api,
        "POST",
        "/dags/d/dagRuns",
        Some(&user),
        Some(json!({"dag_run_id": "r1"})),
    )
    .await;
    assert_problem(&again, StatusCode::CONFLICT, "AlreadyExists");
    let clash = v1(
        &api,
        "POST",
        "/dags/d/dagRuns",
        Some(&user),
        Some(json!({"logical_date": at, "execution_date": "2026-03-02T00:00:00Z"})),
    )
    .await;
    assert_problem(&clash, StatusCode::BAD_REQUEST, "BadRequest");
    let bad_conf = v1(
        &api,
        "POST",
        "/dags/d/dagRuns",
        Some(&user),
        Some(json!({"conf": [1]})),
    )
    .await;
    assert_problem(&bad_conf, StatusCode::BAD_REQUEST, "BadRequest");
    let now = v1(
        &api,
        "POST",
        "/dags/d/dagRuns",
        Some(&user),
        Some(json!({})),
    )
    .await;
    assert_eq!(now.status, StatusCode::OK, "{now:?}");

    let runs = v1(
        &api,
        "GET",
        "/dags/d/dagRuns?execution_date_lte=2026-03-01T00:00:00Z&order_by=-execution_date",
        Some(&user),
        None,
    )
    .await;
    assert_eq!(runs.status, StatusCode::OK, "{runs:?}");
    assert_eq!(runs.body["total_entries"], 1, "{runs:?}");
    assert_eq!(runs.body["dag_runs"][0]["dag_run_id"], "r1");
    let all = v1(&api, "GET", "/dags/~/dagRuns?limit=1", Some(&user), None).await;
    assert_eq!(all.body["total_entries"], 2);
    assert_eq!(all.body["dag_runs"].as_array().map(Vec::len), Some(1));
    let one = v1(&api, "GET", "/dags/d/dagRuns/r1", Some(&user), None).await;
    assert_eq!(one.body["conf"], json!({"x": 1}));
    let gone = v1(&api, "GET", "/dags/d/dagRuns/nope", Some(&user), None).await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "NotFound");
}

// Invariant: task instances, a try's log, XComs and clear answer in the 2.x shapes from what is stored.
#[tokio::test]
async fn task_instances_logs_xcoms_clear() {
    let (api, user) = api_with("User").await;
    let run = v1(
        &api,
        "POST",
        "/dags/d/dagRuns",
        Some(&user),
        Some(json!({"dag_run_id": "r1"})),
    )
    .await;
    assert_eq!(run.status, StatusCode::OK, "{run:?}");
    sqlx::query(
        "UPDATE task_instance SET state = 'failed', try_number = 1, start_date = now(), end_date = now()
          WHERE run_id = 'r1'",
    )
    .execute(api.pool())
    .await
    .expect("finish");
    let mut conn = api.pool().acquire().await.expect("conn");
    let at = TiRef {
        dag_id: "d",
        run_id: "r1",
        task_id: "b",
        map_index: -1,
    };
    let (ti_id, _) = task_instances::locate(&mut conn, &at)
        .await
        .expect("locate")
        .expect("ti");
    task_logs::append(&mut conn, ti_id, 1, 0, "line one\nline two\n")
        .await
        .expect("log");
    let x = xcom::XComRef {
        dag_id: "d",
        run_id: "r1",
        task_id: "b",
        map_index: -1,
        key: "return_value",
    };
    xcom::set(&mut conn, ti_id, &x, &json!({"n": 42}))
        .await
        .expect("xcom");
    drop(conn);

    let base = "/dags/d/dagRuns/r1/taskInstances";
    let list = v1(&api, "GET", base, Some(&user), None).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body["total_entries"], 3);
    let ti = &list.body["task_instances"][1];
    assert_eq!(ti["task_id"], "b");
    assert_eq!(ti["state"], "failed");
    assert_eq!(ti["try_number"], 1);
    assert!(ti["execution_date"].is_string(), "{ti}");
    assert!(
        ti.get("sla_miss").is_some() && ti.get("id").is_none(),
        "{ti}"
    );
    let one = v1(&api, "GET", &format!("{base}/b"), Some(&user), None).await;
    assert_eq!(one.body["task_id"], "b");

    let log = v1(&api, "GET", &format!("{base}/b/logs/1"), Some(&user), None).await;
    assert_eq!(log.status, StatusCode::OK, "{log:?}");
    assert_eq!(log.body["content"], "line one\nline two\n");
    let no_try = v1(&api, "GET", &format!("{base}/b/logs/2"), Some(&user), None).await;
    assert_problem(&no_try, StatusCode::NOT_FOUND, "NotFound");

    let entries = v1(
        &api,
        "GET",
        &format!("{base}/b/xcomEntries"),
        Some(&user),
        None,
    )
    .await;
    assert_eq!(entries.body["total_entries"], 1, "{entries:?}");
    assert_eq!(entries.body["xcom_entries"][0]["key"], "return_value");
    assert!(entries.body["xcom_entries"][0].get("value").is_none());
    let entry = v1(
        &api,
        "GET",
        &format!("{base}/b/xcomEntries/return_value"),
        Some(&user),
        None,
    )
    .await;
    assert_eq!(entry.body["value"], "{\"n\":42}", "{entry:?}");
    assert_eq!(entry.body["task_id"], "b");

    let dry = v1(
        &api,
        "POST",
        "/dags/d/clearTaskInstances",
        Some(&user),
        Some(json!({"dag_run_id": "r1", "task_ids": ["b"]})),
    )
    .await;
    assert_eq!(dry.status, StatusCode::OK, "{dry:?}");
    assert_eq!(dry.body["task_instances"].as_array().map(Vec::len), Some(1));
    assert_eq!(dry.body["task_instances"][0]["dag_run_id"], "r1");
    let cleared = v1(
        &api,
        "POST",
        "/dags/d/clearTaskInstances",
        Some(&user),
        Some(json!({"dry_run": false, "dag_run_id": "r1", "task_ids": ["b"]})),
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK, "{cleared:?}");
    let states: Vec<Option<String>> =
        sqlx::query_scalar("SELECT state FROM task_instance WHERE run_id = 'r1' ORDER BY task_id")
            .fetch_all(api.pool())
            .await
            .expect("states");
    assert_eq!(
        states,
        [Some("failed".to_owned()), None, Some("failed".to_owned())]
    );
}

// Invariant: Variables, Connections and Pools round-trip in the 2.x shapes (200 on create, no password back, 204 on delete).
#[tokio::test]
async fn variables_connections_pools() {
    let (api, op) = api_with("Op").await;
    let created = v1(
        &api,
        "POST",
        "/variables",
        Some(&op),
        Some(json!({"key": "k1", "value": "v1"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{created:?}");
    assert_eq!(created.body["key"], "k1");
    assert_eq!(created.body["value"], "v1");
    assert!(created.body.get("is_encrypted").is_none(), "{created:?}");
    let patched = v1(
        &api,
        "PATCH",
        "/variables/k1?update_mask=value",
        Some(&op),
        Some(json!({"key": "k1", "value": "v2"})),
    )
    .await;
    assert_eq!(patched.body["value"], "v2", "{patched:?}");
    let got = v1(&api, "GET", "/variables/k1", Some(&op), None).await;
    assert_eq!(got.body["value"], "v2");
    let list = v1(&api, "GET", "/variables", Some(&op), None).await;
    assert_eq!(list.body["total_entries"], 1);
    let deleted = v1(&api, "DELETE", "/variables/k1", Some(&op), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = v1(&api, "GET", "/variables/k1", Some(&op), None).await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "NotFound");

    let conn = v1(
        &api,
        "POST",
        "/connections",
        Some(&op),
        Some(
            json!({"connection_id": "db1", "conn_type": "postgres", "host": "h",
                    "port": 5432, "password": "secret"}),
        ),
    )
    .await;
    assert_eq!(conn.status, StatusCode::OK, "{conn:?}");
    assert_eq!(conn.body["host"], "h");
    assert!(conn.body.get("password").is_none(), "{conn:?}");
    assert!(!conn.text.contains("secret"));
    let conns = v1(&api, "GET", "/connections", Some(&op), None).await;
    assert_eq!(conns.body["connections"][0]["connection_id"], "db1");
    assert!(!conns.text.contains("secret"));
    let deleted = v1(&api, "DELETE", "/connections/db1", Some(&op), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let pool = v1(
        &api,
        "POST",
        "/pools",
        Some(&op),
        Some(json!({"name": "p1", "slots": 3})),
    )
    .await;
    assert_eq!(pool.status, StatusCode::OK, "{pool:?}");
    assert_eq!(pool.body["open_slots"], 3);
    assert_eq!(pool.body["used_slots"], 0);
    let patched = v1(
        &api,
        "PATCH",
        "/pools/p1?update_mask=slots",
        Some(&op),
        Some(json!({"name": "p1", "slots": 5})),
    )
    .await;
    assert_eq!(patched.body["slots"], 5, "{patched:?}");
    let pools = v1(&api, "GET", "/pools?limit=10", Some(&op), None).await;
    assert_eq!(pools.body["total_entries"], 2, "{pools:?}");
    let bad = v1(&api, "POST", "/pools", Some(&op), Some(json!({"slots": 1}))).await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "BadRequest");
    let deleted = v1(&api, "DELETE", "/pools/p1", Some(&op), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let errors = v1(&api, "GET", "/importErrors", Some(&op), None).await;
    assert_eq!(errors.status, StatusCode::OK, "{errors:?}");
    assert_eq!(errors.body["total_entries"], 0);
}

/// `template` with every `{param}` replaced by `segment`.
fn fill(template: &str, segment: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        out.push_str(segment);
        rest = rest[open..]
            .find('}')
            .map_or("", |close| &rest[open + close + 1..]);
    }
    out.push_str(rest);
    out
}

// Invariant: the v1 document served at /api/v1/openapi.json lists every v1 route, with basic auth.
#[tokio::test]
async fn openapi_document() {
    let (api, _) = api_with("Viewer").await;
    let doc = v1(&api, "GET", "/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK, "{doc:?}");
    let paths = doc.body["paths"].as_object().expect("paths");
    for path in [
        "/dags",
        "/dags/{dag_id}/dagRuns",
        "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{task_try_number}",
        "/dags/{dag_id}/clearTaskInstances",
        "/pools/{pool_name}",
        "/health",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    assert!(paths["/dags/{dag_id}"]["patch"].is_object());
    assert_eq!(
        doc.body["components"]["securitySchemes"]["Basic"]["scheme"],
        "basic"
    );
    assert!(doc.body["components"]["schemas"]["DagRun"].is_object());
}

// Invariant: odd segments, queries and bodies on every v1 route answer below 500, and every 4xx in Airflow 2's problem shape.
#[tokio::test]
async fn odd_input_never_gets_a_5xx() {
    let (api, admin) = api_with("Admin").await;
    let segments = ["d", "-1", "%C3%BC", "99999999999999999999"];
    let queries = [
        "",
        "limit=-5&offset=x",
        "order_by=-&state=%00",
        "execution_date_gte=2026-13-45&only_active=2",
        "map_index=abc&deserialize=perhaps",
    ];
    let bodies = [
        None,
        Some("{}".to_owned()),
        Some("[]".to_owned()),
        Some("\u{0}garbage".to_owned()),
        Some(
            json!({"key": "k", "value": 5, "name": "n", "slots": -2, "is_paused": "x",
                   "execution_date": 7, "conf": [], "task_ids": [[1]], "dry_run": "no"})
            .to_string(),
        ),
    ];
    let doc = serde_json::to_value(updraft_api::v1::openapi()).expect("document");
    let templates: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    assert!(templates.len() >= 15, "{templates:?}");
    let started = std::time::Instant::now();
    let mut calls = 0;
    for template in &templates {
        for (i, segment) in segments.iter().enumerate() {
            let path = fill(template, segment);
            let query = queries[i % queries.len()];
            for method in ["GET", "POST", "PATCH", "DELETE"] {
                // Each call checks the password (basic auth): bodies only where read.
                let with_body = matches!(method, "POST" | "PATCH");
                for body in bodies.iter().filter(|b| with_body || b.is_none()) {
                    let mut req = Request::builder()
                        .method(method)
                        .uri(format!("/api/v1{path}?{query}"))
                        .header(header::AUTHORIZATION, &admin);
                    if body.is_some() {
                        req = req.header(header::CONTENT_TYPE, "application/json");
                    }
                    let req = req
                        .body(body.clone().map_or_else(Body::empty, Body::from))
                        .expect("request");
                    let r = api.send(req).await;
                    calls += 1;
                    assert!(
                        r.status.as_u16() < 500,
                        "{method} {path}?{query} {body:?}: {r:?}"
                    );
                    // 405 comes from the router, with no body, as in Airflow.
                    if r.status.is_client_error() && r.status != StatusCode::METHOD_NOT_ALLOWED {
                        assert_eq!(
                            r.body["status"],
                            r.status.as_u16(),
                            "{method} {path}: {r:?}"
                        );
                    }
                }
            }
        }
    }
    assert!(calls > 500, "{calls}");
    // Each call verifies the password: the per-request price of basic auth.
    eprintln!("{calls} v1 calls in {:?}", started.elapsed());
}
