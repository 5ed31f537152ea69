//! `updraft worker --once` running Bash tasks for real: DAGs parsed by the
//! DAG processor, a run triggered from the CLI, task instances queued by SQL
//! (the scheduler that queues is separate), then states, XComs, rendered
//! fields and logs read back from Postgres.

mod support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use support::Updraft;
use updraft_core::store::ti_state;

const RUN: &str = "r1";

const AT: support::ti::Run = support::ti::Run {
    dag_id: "w",
    run_id: RUN,
};

const DAG: &str = "\
from datetime import datetime, timedelta
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator

with DAG(dag_id='w', schedule=None, start_date=datetime(2026, 1, 1), params={'x': 'px'}):
    BashOperator(task_id='ok', bash_command='echo first; echo last')
    BashOperator(task_id='tmpl',
                 bash_command=\"echo ds={{ ds }} x={{ params.x }} conf={{ dag_run.conf['k'] }}\")
    BashOperator(task_id='skip', bash_command='echo skipping; exit 99')
    BashOperator(task_id='retry', bash_command='exit 3', retries=2,
                 retry_delay=timedelta(seconds=600))
    BashOperator(task_id='fail', bash_command='exit 3', retries=0)
    BashOperator(task_id='slow', bash_command='echo started; sleep 20; echo done', retries=1)
    EmptyOperator(task_id='nothing')
";

/// A DAG `w` with run `r1` (conf `{"k": "v"}`, logical date 2026-03-04).
async fn setup() -> Updraft {
    let u = Updraft::new().await;
    u.write_dag("w.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&[
        "dags",
        "trigger",
        "w",
        "--run-id",
        RUN,
        "--conf",
        r#"{"k": "v"}"#,
        "--logical-date",
        "2026-03-04T00:00:00+00:00",
    ]);
    u
}

async fn queue(pool: &PgPool, task_id: &str, max_tries: i32) {
    AT.queue(pool, task_id, max_tries).await;
}

#[derive(Debug, sqlx::FromRow)]
struct TiState {
    state: Option<String>,
    try_number: i32,
    next_retry_at: Option<DateTime<Utc>>,
    rendered_fields: Option<Value>,
    lease_expires_at: Option<DateTime<Utc>>,
}

async fn ti(pool: &PgPool, task_id: &str) -> TiState {
    sqlx::query_as(
        "SELECT state, try_number, next_retry_at, rendered_fields, lease_expires_at
           FROM task_instance WHERE dag_id = 'w' AND run_id = $1 AND task_id = $2",
    )
    .bind(RUN)
    .bind(task_id)
    .fetch_one(pool)
    .await
    .expect("task instance")
}

async fn log(pool: &PgPool, task_id: &str) -> String {
    AT.log(pool, task_id, false).await
}

async fn xcom(pool: &PgPool, task_id: &str) -> Option<Value> {
    AT.xcom(pool, task_id, "return_value").await
}

// One worker pass ends every queued try in the state Airflow would give it,
// with the last line as XCom, rendered templates stored, and logs readable.
#[tokio::test]
async fn worker_once_runs_bash_tasks_to_their_final_states() {
    let u = setup().await;
    let p = &u.db.pool;
    for (task, tries) in [
        ("ok", 0),
        ("tmpl", 0),
        ("skip", 0),
        ("retry", 2),
        ("fail", 0),
        ("nothing", 0),
    ] {
        queue(p, task, tries).await;
    }
    let started = Utc::now();
    u.ok(&["worker", "--once", "--concurrency", "3"]);

    let ok = ti(p, "ok").await;
    assert_eq!((ok.state.as_deref(), ok.try_number), (Some("success"), 1));
    assert_eq!(xcom(p, "ok").await, Some(json!("last")));
    let ok_log = log(p, "ok").await;
    assert!(
        ok_log.contains("INFO - first") && ok_log.contains("INFO - last"),
        "{ok_log}"
    );
    let cli_log = u.ok(&["tasks", "logs", "w", RUN, "ok"]);
    assert!(
        cli_log.contains("INFO - last") && cli_log.contains("Marking task as SUCCESS"),
        "{cli_log}"
    );

    let tmpl = ti(p, "tmpl").await;
    assert_eq!(tmpl.state.as_deref(), Some("success"));
    assert_eq!(
        xcom(p, "tmpl").await,
        Some(json!("ds=2026-03-04 x=px conf=v"))
    );
    assert_eq!(
        tmpl.rendered_fields
            .as_ref()
            .and_then(|f| f.get("bash_command").cloned()),
        Some(json!("echo ds=2026-03-04 x=px conf=v"))
    );

    assert_eq!(ti(p, "skip").await.state.as_deref(), Some("skipped"));
    assert!(
        log(p, "skip")
            .await
            .contains("Bash command returned exit code 99. Skipping.")
    );

    let retry = ti(p, "retry").await;
    assert_eq!(retry.state.as_deref(), Some("up_for_retry"));
    let at = retry.next_retry_at.expect("next_retry_at");
    assert!(
        at >= started + TimeDelta::seconds(590) && at <= Utc::now() + TimeDelta::seconds(610),
        "{at}"
    );
    assert!(log(p, "retry").await.contains("non-zero exit code 3"));

    assert_eq!(ti(p, "fail").await.state.as_deref(), Some("failed"));
    assert_eq!(ti(p, "nothing").await.state.as_deref(), Some("success"));

    let workers: Vec<String> = sqlx::query_scalar("SELECT state FROM worker")
        .fetch_all(p)
        .await
        .expect("workers");
    assert_eq!(workers, vec!["stopped".to_owned()]);
}

fn spawn_worker(u: &Updraft) -> Child {
    u.command(&["worker", "--once", "--lease", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn worker")
}

/// Polls `check` until it returns true or `within` passes.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

// A running task's output is in task_log before it ends; a worker killed
// with SIGKILL leaves its try running until the lease runs out, and the
// reaper then sends it to retry.
#[tokio::test]
async fn log_streams_while_running_and_a_killed_worker_leaves_a_reapable_lease() {
    let u = setup().await;
    let p = &u.db.pool;
    queue(p, "slow", 1).await;
    let mut worker = spawn_worker(&u);

    let streamed = eventually(Duration::from_secs(30), || async {
        log(p, "slow").await.contains("INFO - started")
    })
    .await;
    let running = ti(p, "slow").await;
    assert!(streamed, "log so far: {}", log(p, "slow").await);
    assert_eq!(running.state.as_deref(), Some("running"));
    assert!(!log(p, "slow").await.contains("INFO - done"));
    let cli_log = u.ok(&["tasks", "logs", "w", RUN, "slow"]);
    assert!(cli_log.contains("INFO - started"), "{cli_log}");

    worker.kill().expect("kill -9 the worker");
    let _ = worker.wait();
    let expired = eventually(Duration::from_secs(10), || async {
        ti(p, "slow")
            .await
            .lease_expires_at
            .is_some_and(|at| at < Utc::now())
    })
    .await;
    assert!(expired, "the lease never ran out");
    assert_eq!(ti(p, "slow").await.state.as_deref(), Some("running"));

    let mut conn = p.acquire().await.expect("connection");
    let reaped = ti_state::reap_expired_leases(&mut conn, Utc::now(), Duration::from_secs(60), 10)
        .await
        .expect("reap");
    assert_eq!(
        reaped
            .iter()
            .map(|t| t.task_id.as_str())
            .collect::<Vec<_>>(),
        vec!["slow"]
    );
    let after = ti(p, "slow").await;
    assert_eq!(
        (after.state.as_deref(), after.try_number),
        (Some("up_for_retry"), 1)
    );
}

const FILE_DAG: &str = "\
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator

with DAG(dag_id='w', schedule=None, start_date=datetime(2026, 1, 1)):
    BashOperator(task_id='script', bash_command='script.sh', env={'GREETING': 'hi'})
    BashOperator(task_id='long', bash_command='echo begun; sleep 2; echo finished')
    # An approval asks and waits in deferred (tests/hitl.rs answers them).
    ApprovalOperator(task_id='py', subject='Ship it?')
";

// A `.sh` bash_command is rendered from the file next to the DAG; an
// approval's try ends deferred with its request written; SIGTERM lets a
// running try finish and marks the worker stopped.
#[tokio::test]
async fn script_files_deferred_approval_and_graceful_sigterm() {
    let u = Updraft::new().await;
    u.write_dag("w.py", FILE_DAG);
    u.write_dag("script.sh", "echo \"$GREETING from {{ run_id }}\"\n");
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "trigger", "w", "--run-id", RUN]);
    let p = &u.db.pool;
    queue(p, "script", 0).await;
    queue(p, "py", 0).await;
    u.ok(&["worker", "--once"]);
    assert_eq!(ti(p, "script").await.state.as_deref(), Some("success"));
    assert_eq!(xcom(p, "script").await, Some(json!("hi from r1")));
    assert_eq!(ti(p, "py").await.state.as_deref(), Some("deferred"));
    let subject: String = sqlx::query_scalar(
        "SELECT h.subject FROM hitl_detail h JOIN task_instance t ON t.id = h.ti_id
          WHERE t.task_id = 'py'",
    )
    .fetch_one(p)
    .await
    .expect("the request");
    assert_eq!(subject, "Ship it?");

    queue(p, "long", 0).await;
    let worker = u
        .command(&["worker"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn worker");
    let begun = eventually(Duration::from_secs(30), || async {
        log(p, "long").await.contains("INFO - begun")
    })
    .await;
    assert!(begun, "log so far: {}", log(p, "long").await);
    let pid = worker.id().to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(term.is_ok_and(|s| s.success()));
    let out = worker.wait_with_output().expect("worker exit");
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(ti(p, "long").await.state.as_deref(), Some("success"));
    assert_eq!(xcom(p, "long").await, Some(json!("finished")));
    let workers: Vec<String> =
        sqlx::query_scalar("SELECT state FROM worker WHERE stopped_at IS NOT NULL")
            .fetch_all(p)
            .await
            .expect("workers");
    assert_eq!(workers, vec!["stopped".to_owned(), "stopped".to_owned()]);
}
