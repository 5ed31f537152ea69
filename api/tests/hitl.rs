//! Human-in-the-loop through the API router on a real PostgreSQL database:
//! list a run's requests (`~`), get one, answer it (once), and the
//! refusals (401, 403 not assigned or Viewer, 404, 409, 422).

mod common;

use axum::http::StatusCode;
use common::{Api, chain_dag};
use serde_json::json;

const TI: &str = "/api/v2/dags/d/dagRuns/r1/taskInstances";

/// DAG `d` with run `r1`: task `b` waits (deferred) on an approval with
/// options Approve/Reject; `assigned` limits who may answer.
async fn api(assigned: serde_json::Value) -> Api {
    let api = Api::new().await;
    api.store_dag(&chain_dag("d", &[])).await;
    let admin = api.token_for("Admin").await;
    let r = api
        .call(
            "POST",
            "/api/v2/dags/d/dagRuns",
            Some(&admin),
            Some(json!({"dag_run_id": "r1", "logical_date": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    sqlx::query("UPDATE task_instance SET state = 'deferred', try_number = 1 WHERE task_id = 'b'")
        .execute(api.pool())
        .await
        .expect("defer");
    sqlx::query(
        "INSERT INTO hitl_detail (ti_id, try_number, subject, body, options, assigned_users, params)
         SELECT id, 1, 'Ship it?', 'Release 1.2', '[\"Approve\", \"Reject\"]', $1,
                '{\"n\": {\"value\": 1, \"description\": null, \"schema\": {\"type\": \"integer\"}}}'
           FROM task_instance WHERE task_id = 'b'",
    )
    .bind(assigned)
    .execute(api.pool())
    .await
    .expect("request");
    api
}

fn answer(options: &[&str]) -> serde_json::Value {
    json!({"chosen_options": options, "params_input": {"n": 3}})
}

// Invariant: the request is listed and readable with its task instance; an answer is recorded once, audited, and resumes the task.
#[tokio::test]
async fn list_get_and_answer_once() {
    let api = api(json!([])).await;
    let op = api.token_for("Op").await;
    for path in [
        "/api/v2/dags/d/dagRuns/r1/hitlDetails",
        "/api/v2/dags/~/dagRuns/~/hitlDetails",
    ] {
        let r = api.get(path, &op).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {r:?}");
        assert_eq!(r.body["total_entries"], 1);
        let d = &r.body["hitl_details"][0];
        assert_eq!(d["subject"], "Ship it?");
        assert_eq!(d["options"], json!(["Approve", "Reject"]));
        assert_eq!(d["task_instance"]["task_id"], "b");
        assert_eq!(d["task_instance"]["state"], "deferred");
        assert_eq!(d["response_received"], false);
    }
    let r = api
        .get(
            "/api/v2/dags/d/dagRuns/r1/hitlDetails?response_received=true",
            &op,
        )
        .await;
    assert_eq!(r.body["total_entries"], 0);

    let one = api.get(&format!("{TI}/b/-1/hitlDetails"), &op).await;
    assert_eq!(one.status, StatusCode::OK, "{one:?}");
    assert_eq!(one.body["body"], "Release 1.2");
    assert!(one.body["responded_at"].is_null());

    let r = api
        .call(
            "PATCH",
            &format!("{TI}/b/-1/hitlDetails"),
            Some(&op),
            Some(answer(&["Approve"])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["chosen_options"], json!(["Approve"]));
    assert_eq!(r.body["params_input"], json!({"n": 3}));
    assert_eq!(r.body["responded_by"]["name"], "u_op");
    assert!(r.body["responded_at"].is_string());
    // The waiting try is due now: the scheduler resumes it.
    let due: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT next_retry_at FROM task_instance WHERE task_id = 'b'")
            .fetch_one(api.pool())
            .await
            .expect("ti");
    assert!(due.is_some_and(|t| t <= chrono::Utc::now()), "{due:?}");
    let audit = api.audit("hitl_answered").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].1["source"], "rest_api");

    let again = api
        .call(
            "PATCH",
            &format!("{TI}/b/-1/hitlDetails"),
            Some(&op),
            Some(answer(&["Reject"])),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    let after = api.get(&format!("{TI}/b/-1/hitlDetails"), &op).await;
    assert_eq!(after.body["chosen_options"], json!(["Approve"]));
    assert_eq!(after.body["response_received"], true);
    assert_eq!(after.body["responded_by_user"]["name"], "u_op");
}

// Invariant: no token is 401; a Viewer, or a user not among the assigned, is 403 and nothing is recorded.
#[tokio::test]
async fn who_may_answer() {
    let api = api(json!([{"id": "999", "name": "someone"}])).await;
    let path = format!("{TI}/b/-1/hitlDetails");
    let r = api
        .call("PATCH", &path, None, Some(answer(&["Approve"])))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = api.call("GET", &path, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for role in ["Viewer", "Op"] {
        let token = api.token_for(role).await;
        let r = api
            .call("PATCH", &path, Some(&token), Some(answer(&["Approve"])))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}: {r:?}");
    }
    let answered: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT responded_at FROM hitl_detail")
            .fetch_one(api.pool())
            .await
            .expect("row");
    assert!(answered.is_none());
    // The assigned user (by name) may.
    let token = {
        api.user("someone", "pw", "User").await;
        let r = api
            .call(
                "POST",
                "/auth/token",
                None,
                Some(json!({"username": "someone", "password": "pw"})),
            )
            .await;
        r.body["access_token"].as_str().expect("token").to_owned()
    };
    let r = api
        .call("PATCH", &path, Some(&token), Some(answer(&["Reject"])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

// Invariant: no request or no TI is 404 (an unknown DAG's list is empty); a bad choice or body is 422 and changes nothing.
#[tokio::test]
async fn refusals() {
    let api = api(json!([])).await;
    let op = api.token_for("Op").await;
    for path in [
        format!("{TI}/a/-1/hitlDetails"),
        format!("{TI}/nope/-1/hitlDetails"),
    ] {
        assert_eq!(
            api.get(&path, &op).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // As Airflow: the list of an unknown DAG is empty, not a 404.
    let r = api
        .get("/api/v2/dags/nope/dagRuns/r1/hitlDetails", &op)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["total_entries"], 0);
    let r = api
        .call(
            "PATCH",
            &format!("{TI}/a/-1/hitlDetails"),
            Some(&op),
            Some(answer(&["Approve"])),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    let path = format!("{TI}/b/-1/hitlDetails");
    for bad in [
        answer(&["Maybe"]),
        answer(&["Approve", "Reject"]),
        answer(&[]),
        json!({"chosen_options": ["Approve"], "params_input": [1]}),
        json!({"params_input": {}}),
    ] {
        let r = api.call("PATCH", &path, Some(&op), Some(bad.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {r:?}");
    }
    let r = api.get(&format!("{TI}/b/x/hitlDetails"), &op).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let open: i64 =
        sqlx::query_scalar("SELECT count(*) FROM hitl_detail WHERE responded_at IS NULL")
            .fetch_one(api.pool())
            .await
            .expect("count");
    assert_eq!(open, 1);
}
