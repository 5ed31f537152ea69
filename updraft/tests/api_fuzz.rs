//! Property-based fuzzing of `/api/v2` from our own OpenAPI document:
//! schemathesis (pinned, installed by `scripts/api-clients.sh install-fuzz`)
//! generates requests for every operation, valid and not, with an Admin's
//! bearer token, against a real `updraft webserver` on PostgreSQL with one
//! parsed DAG and a run, and fails on any 5xx (`not_a_server_error`).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use support::Updraft;
use support::browser::{Server, free_port};

const DAG: &str = "\
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG(dag_id='fuzzed', schedule='@daily', start_date=datetime(2026, 1, 1), catchup=False):
    BashOperator(task_id='a', bash_command='echo a') >> BashOperator(task_id='b', bash_command='echo b')
";

/// Examples per operation: enough to reach the odd inputs, few enough
/// for the whole run to stay under two minutes.
const MAX_EXAMPLES: &str = "30";

fn schemathesis() -> PathBuf {
    let out = Command::new(support::repo_root().join("scripts/api-clients.sh"))
        .arg("install-fuzz")
        .output()
        .expect("run scripts/api-clients.sh");
    assert!(
        out.status.success(),
        "scripts/api-clients.sh install-fuzz failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// `POST /auth/token` over a plain socket (no HTTP client in the tests).
fn token(port: u16, user: &str, password: &str) -> String {
    let body = serde_json::json!({"username": user, "password": password}).to_string();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "POST /auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("read");
    let json = reply.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("token reply ({e}): {reply}"));
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {reply}"))
        .to_owned()
}

// Invariant: no request schemathesis derives from our OpenAPI document makes the API answer 5xx.
#[tokio::test]
async fn no_generated_request_is_a_server_error() {
    let schemathesis = schemathesis();
    // A fixed seed keeps CI reproducible; set UPDRAFT_FUZZ_SEED to explore.
    let seed = std::env::var("UPDRAFT_FUZZ_SEED").unwrap_or_else(|_| "1".to_owned());
    let u = Updraft::new().await;
    u.write_dag("fuzzed.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "trigger", "fuzzed", "--run-id", "r1"]);
    u.ok(&[
        "users",
        "create",
        "--username",
        "fuzz",
        "--password",
        "fuzz-pw-1",
        "--role",
        "Admin",
    ]);
    let port = free_port();
    let mut web = u.command(&["webserver"]);
    web.env("UPDRAFT__WEBSERVER__PORT", port.to_string());
    let server = Server::start(web);
    let bearer = token(server.port(), "fuzz", "fuzz-pw-1");
    // Its example database and reports go to the test's own home.
    let out = Command::new(&schemathesis)
        .current_dir(u.home.path())
        .env("HOME", u.home.path())
        .arg("run")
        .arg(format!("{}/api/v2/openapi.json", server.base_url))
        .args(["--checks", "not_a_server_error"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", &seed])
        .args(["--header", &format!("Authorization: Bearer {bearer}")])
        .args(["--url", &server.base_url])
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found server errors (or failed):\n{stdout}\n{stderr}"
    );
    // It really ran every operation (not an empty schema or a refused token).
    let tested: usize = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no 'Tested:' line:\n{stdout}"));
    assert!(tested >= 50, "only {tested} operations tested:\n{stdout}");
    assert!(stdout.contains("/api/v2/backfills"), "{stdout}");
}
