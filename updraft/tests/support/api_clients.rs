//! Running an official `apache-airflow-client` script (a venv from
//! `scripts/api-clients.sh`) against a real `updraft standalone`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Updraft;
use super::browser::{Server, free_port};

/// The user the client scripts sign in as.
pub const USER: &str = "robot";
pub const PASSWORD: &str = "robot-pw-1";

/// The python of the client venv `flavor` (`v3`: Airflow 3.1's client for
/// `/api/v2`; `v2`: 2.10's for `/api/v1`), installed if missing.
pub fn client_python(flavor: &str) -> PathBuf {
    let out = Command::new(super::repo_root().join("scripts/api-clients.sh"))
        .args(["install", flavor])
        .output()
        .expect("run scripts/api-clients.sh");
    assert!(
        out.status.success(),
        "scripts/api-clients.sh install {flavor} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Creates the Op user [`USER`], starts `standalone` on a free port and
/// waits (60 s at most) until its processor has loaded `dag_ids`.
pub async fn standalone_with(u: &Updraft, dag_ids: &[&str]) -> Server {
    u.ok(&[
        "users",
        "create",
        "--username",
        USER,
        "--password",
        PASSWORD,
        "--role",
        "Op",
    ]);
    let port = free_port().to_string();
    let mut standalone = u.command(&["standalone"]);
    standalone
        .env("UPDRAFT__WEBSERVER__PORT", &port)
        .env("UPDRAFT__WORKER__CONCURRENCY", "2");
    let server = Server::start(standalone);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let loaded = u.dag_ids();
        if dag_ids.iter().all(|want| loaded.iter().any(|d| d == want)) {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "DAGs {dag_ids:?} not loaded in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs `tests/api_clients/<script>` with `--base-url`, `--user`,
/// `--password` and `args`; asserts it succeeded and returns its `checks`
/// (the script prints one JSON line: `{"ok": …, "checks": {…}}`).
pub fn run_script(python: &PathBuf, script: &str, server: &Server, args: &[&str]) -> Value {
    let out = Command::new(python)
        .arg(
            super::repo_root()
                .join("updraft/tests/api_clients")
                .join(script),
        )
        .args(["--base-url", &server.base_url])
        .args(["--user", USER, "--password", PASSWORD])
        .args(args)
        .output()
        .expect("run the client script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stdout.lines().last().unwrap_or_default();
    let json: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("no JSON line ({e}):\nstdout: {stdout}\nstderr: {stderr}"));
    eprintln!("{script}: {json}");
    assert!(
        out.status.success() && json["ok"] == true,
        "the official client failed: {json}\nstderr: {stderr}"
    );
    json["checks"].clone()
}
