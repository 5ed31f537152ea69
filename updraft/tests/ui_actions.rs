//! The action pages in a real headless Chromium against `updraft
//! webserver` (the harness of `ui_browser.rs`, copied): a User triggers a
//! DAG from its params form. Screenshots are kept under
//! `$UPDRAFT_SCREENSHOTS_DIR/<test name>/` when that is set.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Updraft, repo_root};

const DAG_ID: &str = "ui_trigger";
const DAG: &str = "\
from datetime import datetime
from airflow import DAG
from airflow.models.param import Param
from airflow.operators.empty import EmptyOperator

with DAG(dag_id='ui_trigger', schedule=None, start_date=datetime(2026, 1, 1),
         params={'count': Param(3, type='integer', minimum=1, description='How many'),
                 'color': Param('red', enum=['red', 'blue'])}):
    EmptyOperator(task_id='only')
";
const USER: (&str, &str) = ("ursula", "user-pw-1");

fn node_modules() -> PathBuf {
    let out = Command::new(repo_root().join("scripts/ui-e2e.sh"))
        .arg("install")
        .output()
        .expect("run scripts/ui-e2e.sh");
    assert!(
        out.status.success(),
        "scripts/ui-e2e.sh install failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs `ui/e2e/<script>` and insists that it passed; returns its JSON.
fn pass(test: &str, script: &str, base_url: &str) -> Value {
    let shots = tempfile::tempdir().expect("tempdir");
    let out = Command::new("node")
        .arg(repo_root().join("ui/e2e").join(script))
        .args([
            "--base-url",
            base_url,
            "--user",
            USER.0,
            "--password",
            USER.1,
        ])
        .args(["--dag-id", DAG_ID])
        .arg("--screenshots")
        .arg(shots.path())
        .env("UPDRAFT_UI_E2E_NODE_MODULES", node_modules())
        .output()
        .expect("run node (Node.js is needed for the browser tests)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{script}: no JSON line ({e}):\n{stdout}\n{stderr}"));
    eprintln!("{script}: {json}");
    assert!(
        out.status.success() && json["ok"] == true,
        "{script} failed: {}\n{json}\nstderr: {stderr}",
        json["error"]
    );
    let shot_paths = json["screenshots"].as_array().cloned().unwrap_or_default();
    assert!(!shot_paths.is_empty(), "{script} saved no screenshot");
    for shot in shot_paths {
        let path = PathBuf::from(shot.as_str().expect("screenshot path"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{path:?} is not a PNG"
        );
    }
    if let Some(root) = std::env::var_os("UPDRAFT_SCREENSHOTS_DIR") {
        let to = Path::new(&root).join(test);
        std::fs::create_dir_all(&to).expect("mkdir UPDRAFT_SCREENSHOTS_DIR");
        for entry in std::fs::read_dir(shots.path()).expect("read screenshots") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy screenshot");
        }
    }
    json
}

/// `updraft webserver`, stopped (SIGTERM, then waited for) when dropped.
struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(url) = line.split("Webserver listening on ").nth(1) {
                        let base_url = url.trim().to_owned();
                        return Self { child, base_url };
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} did not print its address in 60 s");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

// Invariant: a User fills the params form, sees a value against the schema
// refused next to its field, corrects it and the run is created with the
// params as its conf (checked in the database), its trigger audited.
#[tokio::test]
async fn webserver_user_triggers_with_params() {
    let test = "webserver_user_triggers_with_params";
    let u = Updraft::new().await;
    u.write_dag("ui_trigger.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&[
        "users",
        "create",
        "--username",
        USER.0,
        "--password",
        USER.1,
        "--role",
        "User",
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    let server = Server::start(u.command(&["webserver", "--host", "127.0.0.1", "--port", &port]));
    let json = pass(test, "trigger_params.mjs", &server.base_url);
    let checks = &json["checks"];
    assert_eq!(checks["count_default"], "3");
    assert_eq!(checks["bad_status"], 400);
    assert_eq!(checks["field_error"], "0 is less than the minimum of 1");
    assert_eq!(checks["redirected_to"], format!("/dags/{DAG_ID}/grid"));
    let runs: Vec<(String, Value, String)> =
        sqlx::query_as("SELECT run_id, conf, triggered_by FROM dag_run WHERE dag_id = $1")
            .bind(DAG_ID)
            .fetch_all(&u.db.pool)
            .await
            .expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].1, serde_json::json!({"count": 5, "color": "blue"}));
    assert_eq!(runs[0].2, "ui");
    assert!(
        checks["audit_row"]
            .as_str()
            .is_some_and(|r| r.contains(&runs[0].0) && r.contains(USER.0)),
        "{checks}"
    );
}
