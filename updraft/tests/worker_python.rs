//! Python tasks run for real by `updraft worker` through the warm Python task
//! runner (`updraft __task-runner`): DAGs from tests/fixtures/python_tasks/,
//! task instances queued by SQL (or by the real scheduler for branching), then
//! states, XComs and logs read back from Postgres.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::PgPool;
use support::Updraft;

const RUN: &str = "r1";

const AT: support::ti::Run = support::ti::Run {
    dag_id: "py",
    run_id: RUN,
};
const OPS: &str = include_str!("fixtures/python_tasks/py_ops.py");
const BRANCH: &str = include_str!("fixtures/python_tasks/py_branch.py");

/// DAG `py` with run `r1` (conf `{"k": "v"}`, logical date 2026-03-04), a
/// secret Variable and a Connection with a password.
async fn setup() -> Updraft {
    let u = Updraft::new().await;
    u.write_dag("py_ops.py", OPS);
    u.ok(&["dags", "reserialize"]);
    u.ok(&[
        "dags",
        "trigger",
        "py",
        "--run-id",
        RUN,
        "--conf",
        r#"{"k": "v"}"#,
        "--logical-date",
        "2026-03-04T00:00:00+00:00",
    ]);
    sqlx::query(
        "INSERT INTO variable (key, val) VALUES ('api_key', 'hunter2-key'), ('plain', 'visible')",
    )
    .execute(&u.db.pool)
    .await
    .expect("variables");
    sqlx::query(
        "INSERT INTO connection (conn_id, conn_type, host, password, is_encrypted)
         VALUES ('svc', 'http', 'example.org', convert_to('pw-s3cr3t', 'UTF8'), false)",
    )
    .execute(&u.db.pool)
    .await
    .expect("connection");
    u
}

async fn queue(pool: &PgPool, task_id: &str, max_tries: i32) {
    AT.queue(pool, task_id, max_tries).await;
}

async fn state(pool: &PgPool, task_id: &str) -> Option<String> {
    AT.state(pool, task_id).await
}

async fn log(pool: &PgPool, task_id: &str) -> String {
    AT.log(pool, task_id, false).await
}

async fn xcom(pool: &PgPool, task_id: &str, key: &str) -> Option<Value> {
    AT.xcom(pool, task_id, key).await
}

// Each Python kind ends in Airflow's state with its XComs: return values,
// explicit pushes, multiple_outputs; skip / fail-no-retry / retry exceptions;
// a segfault, os._exit, sys.exit and a hang past execution_timeout fail only
// their own task; secrets read inside the task are masked in its log.
#[tokio::test]
async fn python_tasks_end_in_airflow_states() {
    let u = setup().await;
    let p = &u.db.pool;
    let tasks = [
        ("classic", 0),
        ("producer", 0),
        ("skipper", 0),
        ("fail_no_retry", 2),
        ("fail_retry", 2),
        ("segv", 0),
        ("exits", 0),
        ("sys_exit", 0),
        ("hang", 0),
        ("secret", 0),
        ("bash_deco", 0),
        ("custom", 0),
        ("venv", 0),
    ];
    for (task, tries) in tasks {
        queue(p, task, tries).await;
    }
    let started = Instant::now();
    u.ok(&["worker", "--once", "--concurrency", "16"]);
    // The hang is killed at its 2 s timeout, not after its 60 s sleep.
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );

    let mut states = Vec::new();
    for (task, _) in tasks {
        states.push((task, state(p, task).await));
    }
    let expect = |s: &str| Some(s.to_owned());
    assert_eq!(
        states,
        vec![
            ("classic", expect("success")),
            ("producer", expect("success")),
            ("skipper", expect("skipped")),
            ("fail_no_retry", expect("failed")),
            ("fail_retry", expect("up_for_retry")),
            ("segv", expect("failed")),
            ("exits", expect("failed")),
            ("sys_exit", expect("failed")),
            ("hang", expect("failed")),
            ("secret", expect("success")),
            ("bash_deco", expect("success")),
            ("custom", expect("success")),
            ("venv", expect("failed")),
        ]
    );

    assert_eq!(
        xcom(p, "classic", "return_value").await,
        Some(
            json!({"a": 1, "day": "2026-03-04", "k": "px", "ctx_ds": "2026-03-04", "run_id": RUN})
        )
    );
    assert_eq!(xcom(p, "classic", "extra").await, Some(json!([1, 2])));
    assert!(
        log(p, "classic")
            .await
            .contains("add called with 1 2026-03-04 px")
    );
    assert_eq!(xcom(p, "producer", "n").await, Some(json!(3)));
    assert_eq!(xcom(p, "producer", "s").await, Some(json!("x")));
    assert_eq!(
        xcom(p, "producer", "return_value").await,
        Some(json!({"n": 3, "s": "x"}))
    );
    assert!(log(p, "skipper").await.contains("nothing to do today"));
    assert!(log(p, "fail_no_retry").await.contains("broken for good"));
    let retry_log = log(p, "fail_retry").await;
    assert!(
        retry_log.contains("Traceback") && retry_log.contains("ValueError: boom"),
        "{retry_log}"
    );
    let segv_log = log(p, "segv").await;
    assert!(
        segv_log.contains("about to crash") && segv_log.contains("SIGSEGV"),
        "{segv_log}"
    );
    assert!(log(p, "exits").await.contains("exited with code 7"));
    assert!(log(p, "sys_exit").await.contains("sys.exit(3)"));
    let hang_log = log(p, "hang").await;
    assert!(
        hang_log.contains("hanging") && hang_log.contains("Timeout"),
        "{hang_log}"
    );
    let secret_log = log(p, "secret").await;
    assert!(
        secret_log.contains("key=*** password=*** plain=visible"),
        "{secret_log}"
    );
    assert!(!secret_log.contains("hunter2-key") && !secret_log.contains("pw-s3cr3t"));
    assert_eq!(
        xcom(p, "bash_deco", "return_value").await,
        Some(json!("said hi on 2026-03-04"))
    );
    assert_eq!(
        xcom(p, "custom", "return_value").await,
        Some(json!("HELLO 2026-03-04"))
    );
    assert!(
        log(p, "custom")
            .await
            .contains("custom says hello 2026-03-04")
    );
    let venv_log = log(p, "venv").await;
    assert!(
        venv_log.contains("no interpreter python0.1 found"),
        "{venv_log}"
    );

    // A TaskFlow XComArg argument and ti.xcom_pull with a list of task ids.
    queue(p, "consumer", 0).await;
    u.ok(&["worker", "--once"]);
    assert_eq!(state(p, "consumer").await, expect("success"));
    assert_eq!(
        xcom(p, "consumer", "return_value").await,
        Some(
            json!({"n": 3, "pulled": [{"n": 3, "s": "x"}, {"a": 1, "day": "2026-03-04", "k": "px",
                    "ctx_ds": "2026-03-04", "run_id": RUN}], "extra": [1, 2], "conf": {"k": "v"}})
        )
    );
}

// A Python task's output is in task_log while it still runs.
#[tokio::test]
async fn python_output_streams_while_the_task_runs() {
    let u = setup().await;
    let p = &u.db.pool;
    queue(p, "slow", 0).await;
    let mut worker = u
        .command(&["worker", "--once"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn worker");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut streamed = false;
    while Instant::now() < deadline {
        if log(p, "slow").await.contains("started") {
            streamed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let running = state(p, "slow").await;
    let so_far = log(p, "slow").await;
    let status = worker.wait().expect("worker exits");
    assert!(streamed, "log so far: {so_far}");
    assert_eq!(running.as_deref(), Some("running"));
    assert!(!so_far.contains("finished"), "{so_far}");
    assert!(status.success());
    assert_eq!(state(p, "slow").await.as_deref(), Some("success"));
    assert!(log(p, "slow").await.contains("finished"));
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

// Branch and short-circuit skip sets are applied in the run: the branch not
// taken is skipped and the join still runs; a short circuit skips only its
// direct downstream task (ignore_downstream_trigger_rules=False) or every
// downstream task (the default).
#[tokio::test]
async fn branch_and_short_circuit_skips_apply_in_the_run() {
    let u = Updraft::new().await;
    u.write_dag("py_branch.py", BRANCH);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "pyb"]);
    u.ok(&["dags", "trigger", "pyb", "--run-id", "b1"]);
    let scheduler = u
        .command(&["scheduler", "--interval", "0.2"])
        .stdout(Stdio::null())
        .spawn()
        .expect("scheduler");
    let worker = u
        .command(&["worker", "--concurrency", "4"])
        .stdout(Stdio::null())
        .spawn()
        .expect("worker");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut run_state = String::new();
    while Instant::now() < deadline {
        run_state = sqlx::query_scalar("SELECT state FROM dag_run WHERE run_id = 'b1'")
            .fetch_one(&u.db.pool)
            .await
            .expect("run state");
        if run_state == "success" || run_state == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(scheduler);
    stop(worker);
    let states: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT task_id, state FROM task_instance WHERE run_id = 'b1' ORDER BY task_id",
    )
    .fetch_all(&u.db.pool)
    .await
    .expect("task states");
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        states,
        vec![
            ("after1".into(), s("skipped")),
            ("after2".into(), s("success")),
            ("d1".into(), s("skipped")),
            ("d2".into(), s("skipped")),
            ("gate".into(), s("success")),
            ("gate_all".into(), s("success")),
            ("join".into(), s("success")),
            ("left".into(), s("success")),
            ("pick".into(), s("success")),
            ("right".into(), s("skipped")),
        ]
    );
    assert_eq!(run_state, "success");
    let followed: Option<Value> = sqlx::query_scalar(
        "SELECT value FROM xcom WHERE run_id = 'b1' AND task_id = 'pick' AND key = 'skipmixin_key'",
    )
    .fetch_optional(&u.db.pool)
    .await
    .expect("skipmixin xcom");
    assert_eq!(followed, Some(json!({"followed": ["left"]})));
}

// A lost lease kills the running Python task at once (the runner kills its
// process group) and the try fails; the shared runner keeps serving.
#[tokio::test]
async fn a_lost_lease_kills_the_python_task() {
    use updraft_worker::log_sink::MemorySink;
    use updraft_worker::python_runner::{self, ContextData, Mode, RunnerCommand, TaskRequest};

    let home = tempfile::tempdir().expect("tempdir");
    let compat = updraft_python::compat::extract(home.path()).expect("compat package");
    let dag = home.path().join("py_ops.py");
    std::fs::write(&dag, OPS).expect("dag file");
    python_runner::set_command(RunnerCommand {
        program: std::env::var("UPDRAFT_BIN")
            .map(Into::into)
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_updraft").into()),
        args: vec!["__task-runner".into(), "--compat-dir".into(), compat.into()],
    });
    let request = |task_id: &str| TaskRequest {
        fileloc: dag.to_string_lossy().into_owned(),
        dag_id: "py".into(),
        task_id: task_id.into(),
        run_id: RUN.into(),
        kind: "python".into(),
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
    let hang = request("hang");
    let started = Instant::now();
    let (result, ()) = tokio::join!(python_runner::run(&hang, &lost, &sink, &[]), async {
        assert!(
            sink.wait_for_line(|l| l == "hanging", Duration::from_secs(30))
                .await
        );
        lost.notify_one();
    });
    assert_eq!(result.state, python_runner::ResultState::Failed);
    assert!(result.message.contains("lease"), "{}", result.message);
    assert!(started.elapsed() < Duration::from_secs(30));

    let ok = python_runner::run(&request("producer"), &lost, &sink, &[]).await;
    assert_eq!(ok.state, python_runner::ResultState::Success);
    assert!(ok.xcoms.iter().any(|(k, v)| k == "n" && *v == json!(3)));
}
