//! PythonVirtualenvOperator / `@task.virtualenv` and ExternalPythonOperator
//! run for real by `updraft worker`: the callable runs in a cached venv (or
//! the given interpreter) started by the task's child in the Python task
//! runner; states, XComs, skips and logs are read back from Postgres. No
//! test needs the network (`requirements=[]`).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::PgPool;
use support::Updraft;

const RUN: &str = "v1";

const AT: support::ti::Run = support::ti::Run {
    dag_id: "venv",
    run_id: RUN,
};
const DAG: &str = include_str!("fixtures/python_tasks/venv_ops.py");

async fn setup() -> Updraft {
    let u = Updraft::new().await;
    u.write_dag("venv_ops.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&[
        "dags",
        "trigger",
        "venv",
        "--run-id",
        RUN,
        "--logical-date",
        "2026-03-04T00:00:00+00:00",
    ]);
    u
}

async fn queue(pool: &PgPool, task_id: &str, max_tries: i32) {
    AT.queue(pool, task_id, max_tries).await;
}

async fn state(pool: &PgPool, task_id: &str) -> Option<String> {
    AT.state(pool, task_id).await
}

async fn log(pool: &PgPool, task_id: &str) -> String {
    AT.log(pool, task_id, true).await
}

async fn xcom(pool: &PgPool, task_id: &str) -> Option<Value> {
    AT.xcom(pool, task_id, "return_value").await
}

/// Runs the given tasks with one `worker --once` and returns their states.
async fn run(u: &Updraft, tasks: &[&str]) -> Vec<(String, Option<String>)> {
    for t in tasks {
        queue(&u.db.pool, t, 0).await;
    }
    u.ok(&["worker", "--once", "--concurrency", "8"]);
    let mut out = Vec::new();
    for t in tasks {
        out.push(((*t).to_owned(), state(&u.db.pool, t).await));
    }
    out
}

/// Process `pid` ends (or is a zombie awaiting its reaper) within a few
/// seconds: SIGKILL to a process group is delivered asynchronously.
async fn assert_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if status.is_empty() || status.contains("State:\tZ") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "process {pid} still runs: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn states(pairs: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
    pairs
        .iter()
        .map(|(t, s)| ((*t).to_owned(), Some((*s).to_owned())))
        .collect()
}

// A venv task returns its value as XCom and prints to its log from an
// isolated venv; the second try reuses the cached venv (a file left in it
// is seen); the external interpreter runs the callable too.
#[tokio::test]
async fn virtualenv_and_external_python_return_values() {
    let u = setup().await;
    let p = &u.db.pool;
    let got = run(&u, &["plain", "external"]).await;
    assert_eq!(
        got,
        states(&[("plain", "success"), ("external", "success")])
    );
    let first = xcom(p, "plain").await.expect("plain xcom");
    let prefix = first["prefix"].as_str().expect("prefix").to_owned();
    assert_eq!(
        (
            &first["tag"],
            &first["ds"],
            &first["marker"],
            &first["isolated"]
        ),
        (
            &json!("plain"),
            &json!("2026-03-04"),
            &json!(false),
            &json!(true)
        )
    );
    // The venv lives in the Updraft home's cache, not in a temporary folder.
    assert!(
        Path::new(&prefix).starts_with(u.home.path()),
        "{prefix} not under {:?}",
        u.home.path()
    );
    let plain_log = log(p, "plain").await;
    assert!(
        plain_log.contains(&format!("running plain on 2026-03-04 in {prefix}")),
        "{plain_log}"
    );
    assert!(plain_log.contains("New Python virtual environment created"));
    let external = xcom(p, "external").await.expect("external xcom");
    assert_eq!(external["tag"], json!("external"));
    assert_eq!(external["prefix"], json!("/usr"));

    // Second try: the same venv, not a new one.
    std::fs::write(Path::new(&prefix).join("marker"), "").expect("marker");
    assert_eq!(run(&u, &["plain"]).await, states(&[("plain", "success")]));
    let second = xcom(p, "plain").await.expect("plain xcom");
    assert_eq!(
        (&second["prefix"], &second["marker"]),
        (&json!(prefix), &json!(true))
    );
    assert!(
        log(p, "plain")
            .await
            .contains("Reusing cached Python virtual environment")
    );
}

// Failures: a missing interpreter and a raising callable fail with a clear
// message (the traceback in the log); skip_on_exit_code skips; a hang past
// execution_timeout is killed, the venv's interpreter with it.
#[tokio::test]
async fn virtualenv_failures_skips_and_timeouts() {
    let u = setup().await;
    let p = &u.db.pool;
    let started = Instant::now();
    let got = run(&u, &["no_python", "crash", "leave", "sleepy"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        got,
        states(&[
            ("no_python", "failed"),
            ("crash", "failed"),
            ("leave", "skipped"),
            ("sleepy", "failed"),
        ])
    );
    let missing = log(p, "no_python").await;
    assert!(
        missing.contains("Python Path '/opt/no/such/python3' must exists"),
        "{missing}"
    );
    let crash = log(p, "crash").await;
    assert!(
        crash.contains("about to fail")
            && crash.contains("Traceback")
            && crash.contains("RuntimeError: venv callable failed on purpose"),
        "{crash}"
    );
    assert!(
        log(p, "leave")
            .await
            .contains("Process exited with code 42. Skipping.")
    );
    let sleepy = log(p, "sleepy").await;
    assert!(sleepy.contains("Timeout"), "{sleepy}");
    let pid = sleepy
        .lines()
        .find_map(|l| l.split_once("interpreter pid ").map(|(_, pid)| pid))
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        .unwrap_or_else(|| panic!("the interpreter printed no pid: {sleepy}"));
    // Killed with its process group.
    assert_gone(pid).await;
}

// `@task.virtualenv` receives an upstream XCom as its argument (and a
// context key); a branching external-Python task skips the branch it did
// not follow.
#[tokio::test]
async fn decorated_virtualenv_and_branch_variant() {
    let u = setup().await;
    let p = &u.db.pool;
    assert_eq!(run(&u, &["make"]).await, states(&[("make", "success")]));
    let got = run(&u, &["use", "branch"]).await;
    assert_eq!(got, states(&[("use", "success"), ("branch", "success")]));
    // 20 + 1 + len("v1")
    assert_eq!(xcom(p, "use").await, Some(json!(23)));
    assert!(log(p, "use").await.contains("using {'n': 20} 1"));
    assert_eq!(state(p, "other").await.as_deref(), Some("skipped"));
    assert_eq!(state(p, "chosen").await, None);
    let followed: Option<Value> = sqlx::query_scalar(
        "SELECT value FROM xcom WHERE run_id = $1 AND task_id = 'branch' AND key = 'skipmixin_key'",
    )
    .bind(RUN)
    .fetch_optional(p)
    .await
    .expect("skipmixin xcom");
    assert_eq!(followed, Some(json!({"followed": ["chosen"]})));
}

/// Writes a minimal pure-Python wheel (`updraft_probe`, `VALUE = 7`) into
/// `dir` with the system Python, so pip can install it offline.
fn build_wheel(dir: &Path) -> std::path::PathBuf {
    let wheel = dir.join("updraft_probe-1.0-py3-none-any.whl");
    let script = r#"
import sys, zipfile
info = "updraft_probe-1.0.dist-info"
files = {"updraft_probe/__init__.py": "VALUE = 7\n",
         info + "/METADATA": "Metadata-Version: 2.1\nName: updraft-probe\nVersion: 1.0\n",
         info + "/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
files[info + "/RECORD"] = "".join(n + ",,\n" for n in [*files, info + "/RECORD"])
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
"#;
    let status = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&wheel)
        .status()
        .expect("python3");
    assert!(status.success());
    wheel
}

// `requirements` naming a .txt file is rendered from that file (Airflow's
// template_ext) and installed with pip and `pip_install_options`.
#[tokio::test]
async fn requirements_file_is_installed_with_pip() {
    let u = setup().await;
    let dags = u.write_dag("venv_requirements.txt", "");
    let folder = dags.parent().expect("dags folder");
    let wheel = build_wheel(folder);
    std::fs::write(&dags, format!("{}\n", wheel.display())).expect("requirements file");
    assert_eq!(
        run(&u, &["from_file"]).await,
        states(&[("from_file", "success")])
    );
    assert_eq!(xcom(&u.db.pool, "from_file").await, Some(json!(7)));
    let log = log(&u.db.pool, "from_file").await;
    assert!(
        log.contains("Successfully installed updraft-probe-1.0"),
        "{log}"
    );
}

// A lost lease kills the venv's interpreter with the task (one process
// group), at once, and the try fails.
#[tokio::test]
async fn a_lost_lease_kills_the_interpreter() {
    use updraft_worker::log_sink::MemorySink;
    use updraft_worker::python_runner::{self, ContextData, Mode, RunnerCommand, TaskRequest};

    let home = tempfile::tempdir().expect("tempdir");
    let compat = updraft_python::compat::extract(home.path()).expect("compat package");
    let dag = home.path().join("venv_ops.py");
    std::fs::write(&dag, DAG).expect("dag file");
    python_runner::set_command(RunnerCommand {
        program: std::env::var("UPDRAFT_BIN")
            .map(Into::into)
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_updraft").into()),
        args: vec!["__task-runner".into(), "--compat-dir".into(), compat.into()],
    });
    let request = TaskRequest {
        fileloc: dag.to_string_lossy().into_owned(),
        dag_id: "venv".into(),
        task_id: "sleepy".into(),
        run_id: RUN.into(),
        kind: "python_virtualenv".into(),
        mode: Mode::Execute,
        context: ContextData {
            logical_date: None,
            data_interval_start: None,
            data_interval_end: None,
            conf: json!({}),
            params: json!({}),
            try_number: 1,
            map_index: -1,
            dialect: "2",
            run_type: "manual",
        },
        rendered: serde_json::Map::new(),
        xcoms: Vec::new(),
        variables: serde_json::Map::new(),
        connections: serde_json::Map::new(),
        expand_input: None,
        timeout: None,
        call: None,
    };
    let sink = MemorySink::new();
    let lost = tokio::sync::Notify::new();
    let started = Instant::now();
    let (result, ()) = tokio::join!(python_runner::run(&request, &lost, &sink, &[]), async {
        let printed = sink
            .wait_for_line(
                |l| l.starts_with("interpreter pid "),
                Duration::from_secs(30),
            )
            .await;
        assert!(printed, "{:?}", sink.lines());
        lost.notify_one();
    });
    assert_eq!(result.state, python_runner::ResultState::Failed);
    assert!(result.message.contains("lease"), "{}", result.message);
    assert!(started.elapsed() < Duration::from_secs(30));
    let pid = sink
        .lines()
        .iter()
        .find_map(|l| {
            l.strip_prefix("interpreter pid ")?
                .trim()
                .parse::<u32>()
                .ok()
        })
        .expect("pid");
    assert_gone(pid).await;
}
