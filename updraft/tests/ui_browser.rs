//! The web UI in a real headless Chromium. Each scenario is a node script in
//! `ui/e2e/` (playwright-core driving Debian's `/usr/bin/chromium`) that
//! prints one line of JSON and exits 0 when it passed; these tests start the
//! server, run the script, and assert on its exit code, its JSON and the
//! screenshots it saved.
//!
//! Two servers answer the same UI contract: `ui/e2e/fake_webserver.py`, a
//! stand-in that proves the harness and the scripts on any branch, and the
//! real `updraft webserver`.
//!
//! Screenshots go to the test's temporary folder; with
//! `UPDRAFT_SCREENSHOTS_DIR` set they are copied to
//! `$UPDRAFT_SCREENSHOTS_DIR/<test name>/` to be looked at.

mod support;

use std::process::Command;

use serde_json::Value;
use support::browser::{Scenario, Server, free_port};
use support::{Updraft, repo_root};

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

/// Where the stand-in puts `data-testid="pause-toggle"`: the contract says
/// "a form button"; a server may mark the button or its form.
#[derive(Clone, Copy)]
enum ToggleId {
    OnButton,
    OnForm,
}

fn fake_webserver(toggle: ToggleId) -> Server {
    let on = match toggle {
        ToggleId::OnButton => "button",
        ToggleId::OnForm => "form",
    };
    let mut cmd = Command::new("python3");
    cmd.arg(repo_root().join("ui/e2e/fake_webserver.py"))
        .args(["--host", "127.0.0.1", "--port", "0", "--dag", DAG_ID])
        .args(["--toggle-testid-on", on])
        .arg("--user")
        .arg(format!("{}:{}:Admin", ADMIN.0, ADMIN.1))
        .arg("--user")
        .arg(format!("{}:{}:Viewer", VIEWER.0, VIEWER.1));
    Server::start(cmd)
}

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

// ---- against the stand-in: the harness itself -------------------------------

// Invariant: headless Chromium starts on this machine, clicks a button of a
// page served on loopback and saves a real PNG.
#[test]
fn chromium_clicks_a_button_and_saves_a_png() {
    let server = fake_webserver(ToggleId::OnButton);
    let json = Scenario {
        script: "fixture.mjs",
        base_url: &server.base_url,
        user: "",
        password: "",
        dag_id: "",
        env: &[],
    }
    .pass("chromium_clicks_a_button_and_saves_a_png");
    assert_eq!(json["checks"]["status"], "clicked");
    assert_eq!(json["screenshots"].as_array().map(Vec::len), Some(1));
    assert!(json["timings_ms"]["launch"].as_u64().is_some());
}

// Invariant: a failing check fails the script (exit 1, ok false, a failure
// screenshot), so the tests below cannot pass by accident.
#[test]
fn a_failing_scenario_reports_failure() {
    let server = fake_webserver(ToggleId::OnButton);
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
            .is_some_and(|e| e.contains("not /home"))
    );
    assert!(
        o.json["screenshots"][0]
            .as_str()
            .is_some_and(|p| p.ends_with("signin-failure.png"))
    );
}

// Invariant: the four contract scenarios pass against a server that keeps the
// contract (the stand-in), so a failure against the real one is the server's.
#[test]
fn contract_scenarios_pass_against_the_stand_in() {
    let test = "contract_scenarios_pass_against_the_stand_in";
    let server = fake_webserver(ToggleId::OnButton);
    signin(test, &server.base_url);
    signin_wrong(test, &server.base_url);
    viewer_cannot_pause(test, &server.base_url);
    let json = admin_pauses(test, &server.base_url);
    assert_ne!(json["checks"]["before"], json["checks"]["after"]);
}

// Invariant: the pause scenarios find and click the toggle whether its test id
// is on the button or on the button's form.
#[test]
fn pause_scenarios_accept_the_test_id_on_the_form() {
    let test = "pause_scenarios_accept_the_test_id_on_the_form";
    let server = fake_webserver(ToggleId::OnForm);
    viewer_cannot_pause(test, &server.base_url);
    let json = admin_pauses(test, &server.base_url);
    assert_ne!(json["checks"]["before"], json["checks"]["after"]);
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
