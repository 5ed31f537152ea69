//! DAG runs and task instances through the API router on a real
//! PostgreSQL database: trigger (conf, run id, required logical_date, 409,
//! 404), list/get with filters, delete, clear (dry run and real), task
//! instance list/get/mark, logs per try, XComs.

mod common;

use axum::http::StatusCode;
use common::{Api, chain_dag};
use serde_json::{Value, json};
use updraft_core::store::task_instances::{self, TiRef};
use updraft_core::store::{task_logs, xcom};

async fn api_with_dag() -> (Api, String) {
    let api = Api::new().await;
    api.store_dag(&chain_dag("d", &[])).await;
    let token = api.token_for("User").await;
    (api, token)
}

async fn trigger(api: &Api, token: &str, body: Value) -> common::Reply {
    api.call("POST", "/api/v2/dags/d/dagRuns", Some(token), Some(body))
        .await
}

// Invariant: a trigger creates a queued manual run with its conf and id, its TIs, and a rest_api audit row.
#[tokio::test]
async fn trigger_creates_the_run() {
    let (api, token) = api_with_dag().await;
    let r = trigger(
        &api,
        &token,
        json!({"dag_run_id": "r1", "logical_date": "2026-03-01T00:00:00Z", "conf": {"x": 1}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let run = &r.body;
    assert_eq!(run["dag_run_id"], "r1");
    assert_eq!(run["dag_id"], "d");
    assert_eq!(run["state"], "queued");
    assert_eq!(run["run_type"], "manual");
    assert_eq!(run["triggered_by"], "rest_api");
    assert_eq!(run["conf"], json!({"x": 1}));
    assert_eq!(run["logical_date"], "2026-03-01T00:00:00Z");
    assert_eq!(run["dag_versions"][0]["version_number"], 1);
    let tis: i64 = sqlx::query_scalar("SELECT count(*) FROM task_instance WHERE run_id = 'r1'")
        .fetch_one(api.pool())
        .await
        .expect("tis");
    assert_eq!(tis, 3);
    let audit = api.audit("trigger_dag_run").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "u_user");
    assert_eq!(audit[0].1["source"], "rest_api");

    let again = trigger(
        &api,
        &token,
        json!({"dag_run_id": "r1", "logical_date": null}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    let no_dag = api
        .call(
            "POST",
            "/api/v2/dags/nope/dagRuns",
            Some(&token),
            Some(json!({"logical_date": null})),
        )
        .await;
    assert_eq!(no_dag.status, StatusCode::NOT_FOUND, "{no_dag:?}");
    // A null logical date is allowed (the run gets one: now).
    let now = trigger(&api, &token, json!({"logical_date": null})).await;
    assert_eq!(now.status, StatusCode::OK, "{now:?}");
}

// Invariant: a bad trigger body is a 4xx naming the field, and creates nothing.
#[tokio::test]
async fn bad_trigger_bodies() {
    let (api, token) = api_with_dag().await;
    let cases = [
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "logical_date"),
        (
            json!({"logical_date": null, "conf": [1]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "conf",
        ),
        (
            json!({"logical_date": "2026-03-01T00:00:00"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
        ),
        (
            json!({"logical_date": null, "bogus": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
        ),
        (
            json!({"logical_date": null, "dag_run_id": "has space"}),
            StatusCode::BAD_REQUEST,
            "run id",
        ),
        (
            json!({"logical_date": null, "data_interval_start": "2026-03-01T00:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
        ),
    ];
    for (body, want, mention) in cases {
        let r = trigger(&api, &token, body.clone()).await;
        assert_eq!(r.status, want, "{body}: {r:?}");
        assert!(r.text.contains(mention), "{body}: {r:?}");
    }
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM dag_run")
        .fetch_one(api.pool())
        .await
        .expect("runs");
    assert_eq!(runs, 0);
}

// Invariant: runs list per DAG and across DAGs (~), filtered by state and dates, paged with totals.
#[tokio::test]
async fn list_and_get_runs() {
    let (api, token) = api_with_dag().await;
    for (id, day) in [("r1", "01"), ("r2", "02"), ("r3", "03")] {
        let body = json!({"dag_run_id": id, "logical_date": format!("2026-03-{day}T00:00:00Z")});
        assert_eq!(trigger(&api, &token, body).await.status, StatusCode::OK);
    }
    let all = api.get("/api/v2/dags/d/dagRuns", &token).await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    assert_eq!(all.body["total_entries"], 3);
    let page = api
        .get(
            "/api/v2/dags/~/dagRuns?order_by=-logical_date&limit=2",
            &token,
        )
        .await;
    let ids: Vec<&str> = page.body["dag_runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["dag_run_id"].as_str())
        .collect();
    assert_eq!(ids, ["r3", "r2"]);
    assert_eq!(page.body["total_entries"], 3);
    let ranged = api
        .get(
            "/api/v2/dags/d/dagRuns?logical_date_gte=2026-03-02T00:00:00%2B00:00",
            &token,
        )
        .await;
    assert_eq!(ranged.body["total_entries"], 2, "{ranged:?}");
    let failed = api.get("/api/v2/dags/d/dagRuns?state=failed", &token).await;
    assert_eq!(failed.body["total_entries"], 0);
    let one = api.get("/api/v2/dags/d/dagRuns/r2", &token).await;
    assert_eq!(one.body["logical_date"], "2026-03-02T00:00:00Z");
    assert_eq!(
        api.get("/api/v2/dags/d/dagRuns/zz", &token).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/api/v2/dags/zz/dagRuns", &token).await.status,
        StatusCode::NOT_FOUND
    );
    for bad in [
        "state=sleeping",
        "logical_date_gte=yesterday",
        "order_by=conf",
    ] {
        let r = api
            .get(&format!("/api/v2/dags/d/dagRuns?{bad}"), &token)
            .await;
        assert!(r.status.is_client_error(), "{bad}: {r:?}");
    }
    let deleted = api
        .call("DELETE", "/api/v2/dags/d/dagRuns/r1", Some(&token), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/api/v2/dags/d/dagRuns/r1", &token).await.status,
        StatusCode::NOT_FOUND
    );
    let twice = api
        .call("DELETE", "/api/v2/dags/d/dagRuns/r1", Some(&token), None)
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
}

/// Marks every TI of run `r1` `state` in the database (as a finished run).
async fn finish_all(api: &Api, state: &str) {
    sqlx::query(
        "UPDATE task_instance SET state = $1, try_number = 1, start_date = now(), end_date = now()
          WHERE run_id = 'r1'",
    )
    .bind(state)
    .execute(api.pool())
    .await
    .expect("finish");
}

// Invariant: task instances list, filter and get in Airflow's shape; logs per try and XComs read back.
#[tokio::test]
async fn task_instances_logs_and_xcoms() {
    let (api, token) = api_with_dag().await;
    trigger(
        &api,
        &token,
        json!({"dag_run_id": "r1", "logical_date": null}),
    )
    .await;
    finish_all(&api, "success").await;
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

    let list = api
        .get("/api/v2/dags/d/dagRuns/r1/taskInstances", &token)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body["total_entries"], 3);
    let ti = &list.body["task_instances"][1];
    assert_eq!(ti["task_id"], "b");
    assert_eq!(ti["state"], "success");
    assert_eq!(ti["dag_run_id"], "r1");
    assert_eq!(ti["map_index"], -1);
    assert_eq!(ti["executor_config"], "{}");
    assert!(ti["run_after"].is_string() && ti["id"].is_string(), "{ti}");
    let across = api
        .get(
            "/api/v2/dags/~/dagRuns/~/taskInstances?state=success&limit=2",
            &token,
        )
        .await;
    assert_eq!(across.body["total_entries"], 3);
    assert_eq!(
        across.body["task_instances"].as_array().map(Vec::len),
        Some(2)
    );
    let one = api
        .get("/api/v2/dags/d/dagRuns/r1/taskInstances/b", &token)
        .await;
    assert_eq!(one.body["task_id"], "b");
    let mapped = api
        .get("/api/v2/dags/d/dagRuns/r1/taskInstances/b/-1", &token)
        .await;
    assert_eq!(mapped.body["task_id"], "b");
    assert_eq!(
        api.get("/api/v2/dags/d/dagRuns/r1/taskInstances/b/3", &token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/api/v2/dags/d/dagRuns/r1/taskInstances/b/x", &token)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let log = api
        .get("/api/v2/dags/d/dagRuns/r1/taskInstances/b/logs/1", &token)
        .await;
    assert_eq!(log.status, StatusCode::OK, "{log:?}");
    assert_eq!(log.body["content"][0]["event"], "line one");
    assert_eq!(log.body["content"][1]["event"], "line two");
    assert!(log.body["continuation_token"].is_null());
    let none = api
        .get("/api/v2/dags/d/dagRuns/r1/taskInstances/b/logs/2", &token)
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);

    let entries = api
        .get(
            "/api/v2/dags/d/dagRuns/r1/taskInstances/b/xcomEntries",
            &token,
        )
        .await;
    assert_eq!(entries.body["total_entries"], 1, "{entries:?}");
    assert_eq!(entries.body["xcom_entries"][0]["key"], "return_value");
    let native = api
        .get(
            "/api/v2/dags/d/dagRuns/r1/taskInstances/b/xcomEntries/return_value?deserialize=true",
            &token,
        )
        .await;
    assert_eq!(native.body["value"], json!({"n": 42}), "{native:?}");
    let text = api
        .get(
            "/api/v2/dags/d/dagRuns/r1/taskInstances/b/xcomEntries/return_value",
            &token,
        )
        .await;
    assert_eq!(text.body["value"], "{\"n\":42}");
    let missing = api
        .get(
            "/api/v2/dags/d/dagRuns/r1/taskInstances/b/xcomEntries/nope",
            &token,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

// Invariant: clearing goes through the scheduler's clear: a dry run changes nothing; a real one resets the TIs and requeues the run.
#[tokio::test]
async fn clear_task_instances_and_runs() {
    let (api, token) = api_with_dag().await;
    trigger(
        &api,
        &token,
        json!({"dag_run_id": "r1", "logical_date": null}),
    )
    .await;
    finish_all(&api, "failed").await;
    let states = || async {
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT state FROM task_instance WHERE run_id = 'r1' ORDER BY task_id",
        )
        .fetch_all(api.pool())
        .await
        .expect("states")
    };
    let path = "/api/v2/dags/d/clearTaskInstances";
    let dry = api
        .call(
            "POST",
            path,
            Some(&token),
            Some(json!({"dag_run_id": "r1", "task_ids": ["b"]})),
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{dry:?}");
    assert_eq!(dry.body["total_entries"], 1);
    let failed = || Some("failed".to_owned());
    assert_eq!(states().await, [failed(), failed(), failed()]);

    let real = api
        .call(
            "POST",
            path,
            Some(&token),
            Some(json!({"dry_run": false, "dag_run_id": "r1", "task_ids": ["b"], "include_downstream": true})),
        )
        .await;
    assert_eq!(real.status, StatusCode::OK, "{real:?}");
    assert_eq!(real.body["total_entries"], 2);
    assert_eq!(states().await, [failed(), None, None]);
    let run_state: String = sqlx::query_scalar("SELECT state FROM dag_run WHERE run_id = 'r1'")
        .fetch_one(api.pool())
        .await
        .expect("run");
    assert_eq!(run_state, "queued");

    let run_clear = api
        .call(
            "POST",
            "/api/v2/dags/d/dagRuns/r1/clear",
            Some(&token),
            Some(json!({"dry_run": false})),
        )
        .await;
    assert_eq!(run_clear.status, StatusCode::OK, "{run_clear:?}");
    assert_eq!(run_clear.body["dag_run_id"], "r1");
    assert_eq!(states().await, [None, None, None]);
    let bad = api
        .call("POST", path, Some(&token), Some(json!({"task_ids": [7]})))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

// Invariant: PATCH new_state marks the task instance through the scheduler's mark.
#[tokio::test]
async fn mark_a_task_instance() {
    let (api, token) = api_with_dag().await;
    trigger(
        &api,
        &token,
        json!({"dag_run_id": "r1", "logical_date": null}),
    )
    .await;
    let r = api
        .call(
            "PATCH",
            "/api/v2/dags/d/dagRuns/r1/taskInstances/a",
            Some(&token),
            Some(json!({"new_state": "success"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["task_instances"][0]["state"], "success");
    let bad = api
        .call(
            "PATCH",
            "/api/v2/dags/d/dagRuns/r1/taskInstances/a",
            Some(&token),
            Some(json!({"new_state": "running"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

// Invariant: PATCH state ends the run by hand; its unfinished task instances follow as in Airflow.
#[tokio::test]
async fn patch_run_state() {
    let (api, token) = api_with_dag().await;
    trigger(
        &api,
        &token,
        json!({"dag_run_id": "r1", "logical_date": null}),
    )
    .await;
    trigger(
        &api,
        &token,
        json!({"dag_run_id": "r2", "logical_date": null}),
    )
    .await;
    let path = "/api/v2/dags/d/dagRuns/r1";
    let done = api
        .call(
            "PATCH",
            path,
            Some(&token),
            Some(json!({"state": "success"})),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{done:?}");
    assert_eq!(done.body["state"], "success");
    assert!(done.body["end_date"].is_string());
    let ti_states: Vec<Option<String>> =
        sqlx::query_scalar("SELECT state FROM task_instance WHERE run_id = 'r1' ORDER BY task_id")
            .fetch_all(api.pool())
            .await
            .expect("states");
    assert_eq!(
        ti_states,
        [
            Some("success".to_owned()),
            Some("success".to_owned()),
            Some("success".to_owned())
        ]
    );

    sqlx::query("UPDATE task_instance SET state = 'success' WHERE run_id = 'r2' AND task_id = 'a'")
        .execute(api.pool())
        .await
        .expect("a done");
    let failed = api
        .call(
            "PATCH",
            "/api/v2/dags/d/dagRuns/r2",
            Some(&token),
            Some(json!({"state": "failed"})),
        )
        .await;
    assert_eq!(failed.body["state"], "failed", "{failed:?}");
    let r2: Vec<Option<String>> =
        sqlx::query_scalar("SELECT state FROM task_instance WHERE run_id = 'r2' ORDER BY task_id")
            .fetch_all(api.pool())
            .await
            .expect("states");
    assert_eq!(
        r2,
        [
            Some("success".to_owned()),
            Some("skipped".to_owned()),
            Some("skipped".to_owned())
        ]
    );

    let queued = api
        .call(
            "PATCH",
            path,
            Some(&token),
            Some(json!({"state": "queued"})),
        )
        .await;
    assert_eq!(queued.body["state"], "queued");
    assert!(queued.body["end_date"].is_null());
    for (body, want) in [
        (
            json!({"state": "running"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"state": "success", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = api
            .call("PATCH", path, Some(&token), Some(body.clone()))
            .await;
        assert_eq!(r.status, want, "{body}: {r:?}");
    }
    let missing = api
        .call(
            "PATCH",
            "/api/v2/dags/d/dagRuns/zz",
            Some(&token),
            Some(json!({"state": "failed"})),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(api.audit("dag_run_state_change").await.len(), 3);
}
