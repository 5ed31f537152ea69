//! Human in the loop in a real headless Chromium (the harness of
//! ui_browser.rs, copied): the approver signs in, opens Required actions,
//! clicks Approve, and the downstream task runs (the database says so).
//! Screenshots are kept under `$UPDRAFT_SCREENSHOTS_DIR/<test>/` when set.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Running, Updraft, repo_root};

const DAGS: &str = include_str!("fixtures/hitl/hitl.py");
const APPROVER: (&str, &str) = ("approver", "approver-pw-1");

/// `scripts/ui-e2e.sh install`: playwright-core in the cache outside the clone.
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

/// Runs `ui/e2e/<script>`; its JSON line, after checking it passed and that
/// its screenshots are PNG files.
fn run_scenario(script: &str, base_url: &str, test: &str) -> Value {
    let shots = tempfile::tempdir().expect("tempdir");
    let out = Command::new("node")
        .arg(repo_root().join("ui/e2e").join(script))
        .args(["--base-url", base_url])
        .args(["--user", APPROVER.0, "--password", APPROVER.1])
        .arg("--screenshots")
        .arg(shots.path())
        .env("UPDRAFT_UI_E2E_NODE_MODULES", node_modules())
        .output()
        .expect("run node (Node.js is needed for the browser tests)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stdout.lines().last().unwrap_or_default();
    let json: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{script}: no JSON line ({e}):\n{stdout}\n{stderr}"));
    eprintln!("{script}: {json}");
    for shot in json["screenshots"].as_array().into_iter().flatten() {
        let bytes = std::fs::read(shot.as_str().expect("path")).expect("screenshot");
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{shot} is not a PNG"
        );
    }
    if let Some(root) = std::env::var_os("UPDRAFT_SCREENSHOTS_DIR") {
        let to = Path::new(&root).join(test);
        std::fs::create_dir_all(&to).expect("mkdir");
        for e in std::fs::read_dir(shots.path()).expect("read screenshots") {
            let e = e.expect("entry");
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy screenshot");
        }
    }
    assert!(
        out.status.success() && json["ok"] == true,
        "{script} failed: {}\n{json}\nstderr: {stderr}",
        json["error"]
    );
    json
}

/// `updraft webserver` on a free port; stopped when dropped.
struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    fn start(u: &Updraft) -> Self {
        let mut child = u
            .command(&["webserver", "--host", "127.0.0.1", "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("webserver");
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
                return Self {
                    base_url: url.trim().to_owned(),
                    child,
                };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the webserver did not print its address in 60 s");
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
    let server = Server::start(&u);
    assert_eq!(
        wait_state(&u, "gate", &["deferred"]).await.as_deref(),
        Some("deferred")
    );
    assert_eq!(state(&u, "deploy").await, None, "waits for the answer");

    let json = run_scenario("hitl_approve.mjs", &server.base_url, test);
    assert_eq!(json["checks"]["subject"], "Release 1.2?");
    assert_eq!(json["checks"]["post_status"], 303);

    let deploy = wait_state(&u, "deploy", &["success", "failed", "skipped"]).await;
    assert_eq!(deploy.as_deref(), Some("success"));
    assert_eq!(state(&u, "gate").await.as_deref(), Some("success"));
}
