//! The DAG pages in a real browser (headless Chromium driven by
//! ui/e2e/dag_grid.mjs, the harness pattern of ui_browser.rs) against
//! `updraft webserver`: after `dags test` ran a DAG to success, a signed-in
//! Viewer opens its grid from the DAG list, sees every cell green, collapses
//! a task group, opens a task's log and the code tab. Screenshots are kept
//! in UPDRAFT_SCREENSHOTS_DIR/<test> when that is set.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Updraft, repo_root};

const DAG_ID: &str = "ui_grid";
const DAG: &str = "\
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.utils.task_group import TaskGroup

with DAG(dag_id='ui_grid', schedule=None, start_date=datetime(2026, 1, 1)):
    start = EmptyOperator(task_id='start')
    with TaskGroup('work') as work:
        say = BashOperator(task_id='say', bash_command='echo hello from the grid test')
        EmptyOperator(task_id='after') << say
    start >> work
";
const VIEWER: (&str, &str) = ("viewer", "viewer-pw-1");

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

/// Runs one scenario; its last stdout line is its JSON report.
fn run_scenario(test: &str, script: &str, base_url: &str, env: &[(&str, &str)]) -> Value {
    let shots = tempfile::tempdir().expect("tempdir");
    let out = Command::new("node")
        .arg(repo_root().join("ui/e2e").join(script))
        .args(["--base-url", base_url])
        .args(["--user", VIEWER.0, "--password", VIEWER.1])
        .args(["--dag-id", DAG_ID])
        .arg("--screenshots")
        .arg(shots.path())
        .envs(env.iter().copied())
        .env("UPDRAFT_UI_E2E_NODE_MODULES", node_modules())
        .output()
        .expect("run node (Node.js is needed for the browser tests)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stdout.lines().last().unwrap_or_default();
    let json: Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("{script}: no JSON line ({e}):\nstdout: {stdout}\nstderr: {stderr}")
    });
    eprintln!("{script}: {json}");
    for shot in json["screenshots"].as_array().into_iter().flatten() {
        assert_png(Path::new(shot.as_str().expect("screenshot path")));
    }
    if let Some(root) = std::env::var_os("UPDRAFT_SCREENSHOTS_DIR") {
        let to = Path::new(&root).join(test);
        std::fs::create_dir_all(&to).expect("mkdir UPDRAFT_SCREENSHOTS_DIR");
        for entry in std::fs::read_dir(shots.path()).expect("read screenshots") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy screenshot");
        }
    }
    assert!(
        out.status.success() && json["ok"] == true,
        "{script} failed: {}\n{json}\nstderr: {stderr}",
        json["error"]
    );
    json
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("screenshot {path:?}: {e}"));
    assert!(
        bytes.len() > 33 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "{path:?} is not a PNG"
    );
}

/// `updraft webserver` on a free loopback port, stopped on drop.
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
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
                && let Some(url) = line.split("Webserver listening on ").nth(1)
            {
                let base_url = url.trim().to_owned();
                return Self { child, base_url };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{cmd:?} exited ({status}) before listening");
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

// Invariant: what the database says ran (success) is what a person sees in
// the grid (green cells) and in the task's log.
#[tokio::test]
async fn grid_shows_a_succeeded_run_and_its_log() {
    let test = "grid_shows_a_succeeded_run_and_its_log";
    let u = Updraft::new().await;
    u.write_dag("ui_grid.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "test", DAG_ID, "2026-02-03"]);
    u.ok(&[
        "users",
        "create",
        "--username",
        VIEWER.0,
        "--password",
        VIEWER.1,
        "--role",
        "Viewer",
    ]);
    let port = free_port().to_string();
    let server = Server::start(u.command(&["webserver", "--host", "127.0.0.1", "--port", &port]));
    let json = run_scenario(
        test,
        "dag_grid.mjs",
        &server.base_url,
        &[
            ("UPDRAFT_E2E_TASK_ID", "work.say"),
            ("UPDRAFT_E2E_LOG_TEXT", "hello from the grid test"),
        ],
    );
    let cells = json["checks"]["cells"].as_array().expect("cells");
    let tasks: Vec<&str> = cells.iter().filter_map(|c| c["task"].as_str()).collect();
    assert_eq!(tasks, ["start", "work.say", "work.after"], "{json}");
    assert_eq!(json["checks"]["group_collapsed"], true);
    assert_eq!(json["checks"]["ti_state"], "success");
    assert_eq!(json["checks"]["log_has_text"], true);
    assert_eq!(json["screenshots"].as_array().map(Vec::len), Some(4));
}
