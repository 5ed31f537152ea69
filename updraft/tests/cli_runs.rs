//! `dags trigger`, `dags list-runs`, `tasks states-for-dag-run` and `tasks
//! state` through the real binary: JSON shapes field by field, and the
//! error paths (one line on stderr, non-zero exit).

mod support;

use serde_json::Value;
use support::Updraft;

const DAG: &str = "\
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(dag_id='r', schedule=None, start_date=datetime(2026, 1, 1)):
    BashOperator(task_id='one', bash_command='echo one') >> BashOperator(task_id='two', bash_command='echo two')
";

/// Runs, insists on failure, and returns stderr (checked to be one line).
fn fail(u: &Updraft, args: &[&str]) -> String {
    let out = u.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "{args:?} should fail; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: one line on stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

async fn setup() -> Updraft {
    let u = Updraft::new().await;
    u.write_dag("r.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u
}

// The trigger prints the new run, and list-runs shows it with Airflow's fields.
#[tokio::test]
async fn trigger_and_list_runs_print_airflow_fields() {
    let u = setup().await;
    let out = u.json(&[
        "dags",
        "trigger",
        "r",
        "--run-id",
        "my_run",
        "--conf",
        r#"{"k": 1}"#,
        "--logical-date",
        "2026-03-04T05:06:07+02:00",
        "-o",
        "json",
    ]);
    let run = &out.as_array().expect("array")[0];
    assert_eq!(run["run_id"], "my_run");
    assert_eq!(run["dag_run_id"], "my_run");
    assert_eq!(run["dag_id"], "r");
    assert_eq!(run["state"], "queued");
    assert_eq!(run["logical_date"], "2026-03-04T03:06:07+00:00");
    assert_eq!(run["execution_date"], "2026-03-04T03:06:07+00:00");
    assert_eq!(run["conf"], serde_json::json!({"k": 1}));
    assert_eq!(run["run_type"], "manual");

    u.ok(&["dags", "trigger", "r", "--run-id", "second"]);
    let runs = u.json(&["dags", "list-runs", "-d", "r", "-o", "json"]);
    let runs = runs.as_array().expect("array");
    assert_eq!(runs.len(), 2);
    let ids: Vec<&str> = runs
        .iter()
        .map(|r| r["run_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["second", "my_run"], "newest first");
    let mine = &runs[1];
    for field in [
        "run_id",
        "state",
        "logical_date",
        "start_date",
        "end_date",
        "execution_date",
    ] {
        assert!(mine.get(field).is_some(), "list-runs lacks {field}: {mine}");
    }
    assert_eq!(mine["state"], "queued");
    assert_eq!(mine["start_date"], Value::Null);
    assert_eq!(mine["logical_date"], "2026-03-04T03:06:07+00:00");
}

// Mistakes are one clear line and a non-zero exit, never a panic.
#[tokio::test]
async fn trigger_and_list_runs_errors() {
    let u = setup().await;
    assert!(fail(&u, &["dags", "trigger", "nope"]).contains("nope"));
    assert!(fail(&u, &["dags", "trigger", "r", "--conf", "{not json"]).contains("--conf"));
    assert!(fail(&u, &["dags", "trigger", "r", "--conf", "[1]"]).contains("object"));
    assert!(
        fail(&u, &["dags", "trigger", "r", "--logical-date", "yesterday"]).contains("yesterday")
    );
    u.ok(&["dags", "trigger", "r", "--run-id", "x"]);
    fail(&u, &["dags", "trigger", "r", "--run-id", "x"]);
    assert!(fail(&u, &["dags", "list-runs", "-d", "nope"]).contains("nope"));
}

// states-for-dag-run and state read the run by id or by logical date.
#[tokio::test]
async fn task_states_by_run_id_and_logical_date() {
    let u = setup().await;
    u.ok(&[
        "dags",
        "trigger",
        "r",
        "--run-id",
        "s1",
        "--logical-date",
        "2026-05-01",
    ]);
    sqlx::query(
        "UPDATE task_instance SET state = 'success', try_number = 1,
                start_date = '2026-05-01T01:00:00Z', end_date = '2026-05-01T01:00:05Z'
          WHERE run_id = 's1' AND task_id = 'one'",
    )
    .execute(&u.db.pool)
    .await
    .expect("update");
    for run in ["s1", "2026-05-01T00:00:00+00:00"] {
        let tis = u.json(&["tasks", "states-for-dag-run", "r", run, "-o", "json"]);
        let tis = tis.as_array().expect("array");
        assert_eq!(tis.len(), 2, "{run}");
        let one = &tis[0];
        assert_eq!(one["task_id"], "one");
        assert_eq!(one["map_index"], -1);
        assert_eq!(one["state"], "success");
        assert_eq!(one["try_number"], 1);
        assert_eq!(one["start_date"], "2026-05-01T01:00:00+00:00");
        assert_eq!(one["end_date"], "2026-05-01T01:00:05+00:00");
        assert_eq!(one["run_id"], "s1");
        let two = &tis[1];
        assert_eq!(two["task_id"], "two");
        assert_eq!(two["state"], Value::Null);
        assert_eq!(two["try_number"], 0);
        assert_eq!(two["start_date"], Value::Null);
    }
    assert_eq!(
        u.ok(&["tasks", "state", "r", "one", "s1"]).trim(),
        "success"
    );
    assert_eq!(
        u.ok(&["tasks", "state", "r", "two", "2026-05-01"]).trim(),
        "None"
    );
    assert_eq!(u.ok(&["tasks", "list", "r"]), "one\ntwo\n");

    assert!(fail(&u, &["tasks", "states-for-dag-run", "r", "nope"]).contains("not found"));
    assert!(fail(&u, &["tasks", "states-for-dag-run", "zz", "s1"]).contains("zz"));
    assert!(fail(&u, &["tasks", "state", "r", "three", "s1"]).contains("three"));
    assert!(
        fail(
            &u,
            &["tasks", "state", "r", "one", "s1", "--map-index", "3"]
        )
        .contains("map index")
    );
}
