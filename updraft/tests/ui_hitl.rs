//! Human in the loop in a real headless Chromium (through
//! support::browser): the approver signs in, opens Required actions,
//! sees the body rendered from Markdown, clicks Approve, finds the answer in
//! the answered section, and the downstream task runs (the database says so).
//! Screenshots are kept under `$UPDRAFT_SCREENSHOTS_DIR/<test>/` when set.

mod support;

use std::time::{Duration, Instant};

use support::browser::{Scenario, Server};
use support::{Running, Updraft};

const DAGS: &str = include_str!("fixtures/hitl/hitl.py");
const APPROVER: (&str, &str) = ("approver", "approver-pw-1");

async fn state(u: &Updraft, task: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT state FROM task_instance WHERE dag_id = 'approve' AND run_id = 'r' AND task_id = $1",
    )
    .bind(task)
    .fetch_one(&u.db.pool)
    .await
    .expect("state")
}

async fn wait_state(u: &Updraft, task: &str, states: &[&str]) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = state(u, task).await;
        if s.as_deref().is_some_and(|s| states.contains(&s)) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// Invariant: an Admin approves in the browser (badge, list, form, Approve
// button) and the approval's downstream task then succeeds.
#[tokio::test]
async fn approver_approves_in_the_browser() {
    let test = "approver_approves_in_the_browser";
    let u = Updraft::new().await;
    u.write_dag("hitl.py", DAGS);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "approve"]);
    u.ok(&[
        "users", "create", "-u", APPROVER.0, "-p", APPROVER.1, "-r", "Admin",
    ]);
    u.ok(&["dags", "trigger", "approve", "--run-id", "r"]);
    let _procs = Running::start(&u, 2, 30);
    let server = Server::start(u.command(&["webserver", "--host", "127.0.0.1", "--port", "0"]));
    assert_eq!(
        wait_state(&u, "gate", &["deferred"]).await.as_deref(),
        Some("deferred")
    );
    assert_eq!(state(&u, "deploy").await, None, "waits for the answer");

    let json = Scenario {
        script: "hitl_approve.mjs",
        base_url: &server.base_url,
        user: APPROVER.0,
        password: APPROVER.1,
        dag_id: "approve",
        env: &[],
    }
    .pass(test);
    assert_eq!(json["checks"]["subject"], "Release 1.2?");
    assert_eq!(json["checks"]["post_status"], 303);
    // The body `Ship **{{ params.version }}**` is rendered Markdown.
    assert_eq!(json["checks"]["body_strong"], "1.2");
    // The answered section says who chose what.
    assert_eq!(json["checks"]["answered_by"], APPROVER.0);
    assert_eq!(json["checks"]["answered_chosen"], "Approve");

    let deploy = wait_state(&u, "deploy", &["success", "failed", "skipped"]).await;
    assert_eq!(deploy.as_deref(), Some("success"));
    assert_eq!(state(&u, "gate").await.as_deref(), Some("success"));
}
