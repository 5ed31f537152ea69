//! A DAG runs end to end: `dags trigger`, then the `scheduler` and `worker`
//! processes take it to success, one task's XCom feeding the next task's
//! template.

mod support;

use std::process::{Child, Command};

use support::Updraft;

const DAG: &str = r#"
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="e2e", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    first = BashOperator(task_id="first", bash_command="echo starting; echo {{ dag_run.conf['word'] }}")
    second = BashOperator(
        task_id="second",
        bash_command="echo got {{ ti.xcom_pull(task_ids='first') }} for {{ dag_run.run_id }}",
    )
    done = EmptyOperator(task_id="done")
    first >> second >> done
"#;

fn stop(mut child: Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().expect("wait")
}

// Invariant: a triggered run reaches success through the real scheduler and
// worker, with templates rendered from conf and an upstream XCom.
#[tokio::test]
async fn a_triggered_run_succeeds_through_scheduler_and_worker() {
    let u = Updraft::new().await;
    u.write_dag("e2e.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "e2e"]);
    u.ok(&[
        "dags",
        "trigger",
        "e2e",
        "--run-id",
        "manual__e2e",
        "--conf",
        r#"{"word": "hello"}"#,
    ]);

    let scheduler = u
        .command(&["scheduler", "--interval", "0.2"])
        .spawn()
        .expect("scheduler");
    let worker = u
        .command(&["worker", "--concurrency", "2"])
        .spawn()
        .expect("worker");

    let state = support::run_end(&u.db.pool, "manual__e2e").await;
    let scheduler_status = stop(scheduler);
    let worker_status = stop(worker);

    let states: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT task_id, state FROM task_instance WHERE run_id = 'manual__e2e' ORDER BY task_id",
    )
    .fetch_all(&u.db.pool)
    .await
    .expect("task states");
    assert_eq!(state, "success", "task states: {states:?}");
    let second: serde_json::Value = sqlx::query_scalar(
        "SELECT value FROM xcom WHERE run_id = 'manual__e2e' AND task_id = 'second' AND key = 'return_value'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("xcom of second");
    assert_eq!(second, serde_json::json!("got hello for manual__e2e"));
    let log = u.ok(&["tasks", "logs", "e2e", "manual__e2e", "first"]);
    assert!(log.contains("starting"), "{log}");
    assert!(
        scheduler_status.success() && worker_status.success(),
        "both stop cleanly on SIGTERM"
    );
}
