//! `updraft standalone` with no database configured: it creates and starts
//! its own PostgreSQL, loads the DAGs, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// Invariant: the first command a new user runs needs no database set-up.
#[test]
fn standalone_brings_its_own_database_and_loads_dags() {
    let home = tempfile::tempdir().expect("tempdir");
    let dags = home.path().join("dags");
    std::fs::create_dir_all(&dags).expect("mkdir");
    std::fs::write(
        dags.join("hello.py"),
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n\
         with DAG(dag_id='hello_standalone', schedule=None):\n    EmptyOperator(task_id='a')\n",
    )
    .expect("write dag");
    let mut child = Command::new(env!("CARGO_BIN_EXE_updraft"))
        .arg("standalone")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("UPDRAFT_HOME", home.path())
        .env("UPDRAFT__CORE__DAGS_FOLDER", &dags)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start standalone");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("DAGs loaded")) && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(line);
        }
    }
    let db_line = lines
        .iter()
        .find(|l| l.starts_with("Embedded database:"))
        .cloned();
    let stop = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    let mut rest: Vec<String> = rx.try_iter().collect();
    lines.append(&mut rest);
    let text = lines.join("\n");
    let db_line = db_line.unwrap_or_else(|| panic!("no embedded database line:\n{text}"));
    let data_dir = db_line
        .split("(data in ")
        .nth(1)
        .and_then(|s| s.strip_suffix(')'))
        .map(std::path::PathBuf::from)
        .expect("data dir in the line");
    let port: u16 = db_line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port");
    assert!(stop.is_ok_and(|s| s.success()));
    assert!(
        status.success(),
        "standalone exits cleanly on SIGTERM: {status}\n{text}"
    );
    assert!(text.contains("1 DAGs loaded"), "{text}");
    assert!(text.contains("Embedded database stopped."), "{text}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the embedded database is stopped with Updraft"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

mod support;

const HELLO: &str = r#"
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="hello", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    BashOperator(task_id="say", bash_command="echo hello from {{ ti.task_id }}") >> EmptyOperator(task_id="done")

with DAG(dag_id="slow", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    BashOperator(task_id="nap", bash_command="sleep 2; echo rested")
"#;

async fn poll(pool: &sqlx::PgPool, query: &'static str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(Some(v)) = sqlx::query_scalar::<_, Option<String>>(query)
            .fetch_one(pool)
            .await
        {
            last = v;
            if last == want {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

// Invariant: `updraft standalone` alone (no separate scheduler or worker)
// runs a triggered bash DAG to success, and on SIGTERM lets a running task
// finish before it exits cleanly.
#[tokio::test]
async fn standalone_runs_dags_and_stops_gracefully() {
    let u = support::Updraft::new().await;
    u.write_dag("hello.py", HELLO);
    let log = u.home.path().join("standalone.log");
    let file = std::fs::File::create(&log).expect("log");
    let mut child = u
        .command(&["standalone"])
        .env("UPDRAFT__WORKER__CONCURRENCY", "4")
        .stdout(Stdio::from(file.try_clone().expect("clone")))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("standalone");
    let output = || std::fs::read_to_string(&log).unwrap_or_default();
    let loaded = poll(
        &u.db.pool,
        "SELECT count(*)::text FROM dag WHERE dag_id IN ('hello', 'slow')",
        "2",
    )
    .await;
    assert_eq!(loaded, "2", "{}", output());
    u.ok(&["dags", "unpause", "hello"]);
    u.ok(&["dags", "unpause", "slow"]);
    u.ok(&["dags", "trigger", "hello", "--run-id", "r1"]);
    let state = poll(
        &u.db.pool,
        "SELECT state FROM dag_run WHERE dag_id = 'hello' AND run_id = 'r1'",
        "success",
    )
    .await;
    assert_eq!(state, "success", "{}", output());
    let xcom: serde_json::Value = sqlx::query_scalar(
        "SELECT value FROM xcom WHERE dag_id = 'hello' AND task_id = 'say' AND key = 'return_value'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("xcom");
    assert_eq!(xcom, serde_json::json!("hello from say"));

    // SIGTERM while a try runs: the try finishes, then the process exits.
    u.ok(&["dags", "trigger", "slow", "--run-id", "s1"]);
    let nap = poll(
        &u.db.pool,
        "SELECT state FROM task_instance WHERE dag_id = 'slow' AND task_id = 'nap'",
        "running",
    )
    .await;
    assert_eq!(nap, "running", "{}", output());
    let stop = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(stop.is_ok_and(|s| s.success()));
    let status = child.wait().expect("wait");
    let text = output();
    assert!(status.success(), "clean exit on SIGTERM: {status}\n{text}");
    let nap: String = sqlx::query_scalar(
        "SELECT state FROM task_instance WHERE dag_id = 'slow' AND task_id = 'nap'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("nap state");
    assert_eq!(nap, "success", "the running try finished first:\n{text}");
    assert!(text.contains("Stopped ("), "{text}");
}
