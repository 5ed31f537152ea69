//! The web UI in a real headless Chromium. Each scenario is a node script in
//! `ui/e2e/` (playwright-core driving Debian's `/usr/bin/chromium`) that
//! prints one line of JSON and exits 0 when it passed; these tests start the
//! server, run the script, and assert on its exit code, its JSON and the
//! screenshots it saved.
//!
//! The server is the real `updraft webserver` on a database of the test's own.
//!
//! Screenshots go to the test's temporary folder; with
//! `UPDRAFT_SCREENSHOTS_DIR` set they are copied to
//! `$UPDRAFT_SCREENSHOTS_DIR/<test name>/` to be looked at.

mod support;

use serde_json::Value;
use support::Updraft;
use support::browser::{Scenario, Server, free_port};

const DAG_ID: &str = "ui_pause";
const DAG: &str = "\
from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id='ui_pause', schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id='only')
";
const ADMIN: (&str, &str) = ("admin", "admin-pw-1");
const VIEWER: (&str, &str) = ("viewer", "viewer-pw-1");

/// `updraft webserver` on its own database with one DAG, an Admin and a
/// Viewer.
async fn real_webserver() -> (Updraft, Server) {
    let u = Updraft::new().await;
    u.write_dag("ui_pause.py", DAG);
    u.ok(&["dags", "reserialize"]);
    for (user, password, role) in [(ADMIN.0, ADMIN.1, "Admin"), (VIEWER.0, VIEWER.1, "Viewer")] {
        u.ok(&[
            "users",
            "create",
            "--username",
            user,
            "--password",
            password,
            "--role",
            role,
        ]);
    }
    let port = free_port().to_string();
    let server = Server::start(u.command(&["webserver", "--host", "127.0.0.1", "--port", &port]));
    (u, server)
}

fn is_paused(u: &Updraft) -> bool {
    let dags = u.json(&["dags", "list", "-o", "json"]);
    dags.as_array()
        .expect("array")
        .iter()
        .find(|d| d["dag_id"] == DAG_ID)
        .and_then(|d| d["is_paused"].as_bool())
        .unwrap_or_else(|| panic!("{DAG_ID} with is_paused in {dags}"))
}

// ---- the scenarios, shared by both servers ----------------------------------

fn signin(test: &str, base_url: &str) {
    let json = Scenario {
        script: "signin.mjs",
        base_url,
        user: ADMIN.0,
        password: ADMIN.1,
        dag_id: DAG_ID,
        env: &[],
    }
    .pass(test);
    assert_eq!(json["checks"]["path"], "/home");
    assert!(
        json["checks"]["user_name"]
            .as_str()
            .is_some_and(|n| n.contains(ADMIN.0))
    );
}

fn signin_wrong(test: &str, base_url: &str) {
    let json = Scenario {
        script: "signin_wrong.mjs",
        base_url,
        user: ADMIN.0,
        password: "not-the-password",
        dag_id: DAG_ID,
        env: &[],
    }
    .pass(test);
    assert_ne!(json["checks"]["path"], "/home");
}

fn viewer_cannot_pause(test: &str, base_url: &str) {
    let json = Scenario {
        script: "viewer_pause.mjs",
        base_url,
        user: VIEWER.0,
        password: VIEWER.1,
        dag_id: DAG_ID,
        env: &[],
    }
    .pass(test);
    assert_eq!(json["checks"]["post_status"], 403);
}

fn admin_pauses(test: &str, base_url: &str) -> Value {
    Scenario {
        script: "admin_pause.mjs",
        base_url,
        user: ADMIN.0,
        password: ADMIN.1,
        dag_id: DAG_ID,
        env: &[],
    }
    .pass(test)
}

// Invariant: a failing check fails the script (exit 1, ok false, a failure
// screenshot), so the scenarios below cannot pass by accident.
#[tokio::test]
async fn a_failing_scenario_reports_failure() {
    let (_u, server) = real_webserver().await;
    let o = Scenario {
        script: "signin.mjs",
        base_url: &server.base_url,
        user: ADMIN.0,
        password: "wrong",
        dag_id: DAG_ID,
        env: &[],
    }
    .run("a_failing_scenario_reports_failure");
    assert!(!o.passed, "{}", o.json);
    assert_eq!(o.json["ok"], false);
    assert!(
        o.json["error"]
            .as_str()
            .is_some_and(|e| e.contains("not /home")),
        "{}",
        o.json
    );
    assert!(
        o.json["screenshots"][0]
            .as_str()
            .is_some_and(|p| p.ends_with("signin-failure.png"))
    );
}

// ---- against `updraft webserver` --------------------------------------------

// Invariant: an Admin signs in with the form and sees their name in the header.
#[tokio::test]
async fn webserver_admin_signs_in() {
    let test = "webserver_admin_signs_in";
    let (_u, server) = real_webserver().await;
    signin(test, &server.base_url);
}

// Invariant: a wrong password is refused with Airflow's message.
#[tokio::test]
async fn webserver_wrong_password_is_refused() {
    let test = "webserver_wrong_password_is_refused";
    let (_u, server) = real_webserver().await;
    signin_wrong(test, &server.base_url);
}

// Invariant: a Viewer cannot pause a DAG, even by posting the form directly.
#[tokio::test]
async fn webserver_viewer_cannot_pause() {
    let test = "webserver_viewer_cannot_pause";
    let (u, server) = real_webserver().await;
    let before = is_paused(&u);
    viewer_cannot_pause(test, &server.base_url);
    assert_eq!(is_paused(&u), before, "a Viewer changed is_paused");
}

// Invariant: an Admin's click on the pause toggle flips it and the database.
#[tokio::test]
async fn webserver_admin_pauses_a_dag() {
    let test = "webserver_admin_pauses_a_dag";
    let (u, server) = real_webserver().await;
    let before = is_paused(&u);
    admin_pauses(test, &server.base_url);
    assert_eq!(is_paused(&u), !before, "the click did not change is_paused");
}
