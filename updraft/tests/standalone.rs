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
