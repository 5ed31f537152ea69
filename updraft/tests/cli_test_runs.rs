//! `dags test` and `tasks test` through the real binary: whole DAG runs in
//! the CLI process (a retry, a failure, a paused DAG) with the logs printed,
//! and a single task run that leaves no rows behind.

mod support;

use std::process::Output;

use support::Updraft;

const DAG: &str = "\
from datetime import datetime, timedelta
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(dag_id='flaky', schedule='@daily', start_date=datetime(2026, 1, 1), catchup=False):
    a = BashOperator(task_id='a', bash_command='echo hello from a; echo ds={{ ds }}')
    b = BashOperator(task_id='b', retries=1, retry_delay=timedelta(seconds=1),
                     bash_command='test -f \"$MARK\" || { touch \"$MARK\"; echo first try fails; exit 1; }; echo second try works',
                     env={'MARK': '{{ dag_run.conf[\"mark\"] }}'})
    a >> b

with DAG(dag_id='broken', schedule=None, start_date=datetime(2026, 1, 1)):
    BashOperator(task_id='boom', bash_command='echo about to fail; exit 4') >> BashOperator(task_id='after', bash_command='echo never')
";

async fn setup() -> Updraft {
    let u = Updraft::new()
        .await
        .env("UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION", "true");
    u.write_dag("d.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn count(u: &Updraft, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&u.db.pool)
        .await
        .expect("count")
}

// A paused DAG runs to success in-process, its retry included, logs printed.
#[tokio::test]
async fn dags_test_runs_a_paused_dag_with_a_retry() {
    let u = setup().await;
    let paused: bool = sqlx::query_scalar("SELECT is_paused FROM dag WHERE dag_id = 'flaky'")
        .fetch_one(&u.db.pool)
        .await
        .expect("dag");
    assert!(paused, "the DAG under test is paused");
    let mark = u.home.path().join("mark");
    let conf = format!(r#"{{"mark": "{}"}}"#, mark.display());
    let out = u.run(&["dags", "test", "flaky", "2026-02-03", "--conf", &conf]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("hello from a"), "{stdout}");
    assert!(stdout.contains("ds=2026-02-03"), "{stdout}");
    assert!(stdout.contains("first try fails"), "{stdout}");
    assert!(stdout.contains("second try works"), "{stdout}");
    assert!(stdout.contains("finished: success"), "{stdout}");
    let run_id = "manual__2026-02-03T00:00:00+00:00";
    let tis = u.json(&["tasks", "states-for-dag-run", "flaky", run_id, "-o", "json"]);
    let got: Vec<(String, String, i64)> = tis
        .as_array()
        .expect("array")
        .iter()
        .map(|t| {
            (
                t["task_id"].as_str().expect("id").to_owned(),
                t["state"].as_str().unwrap_or("None").to_owned(),
                t["try_number"].as_i64().expect("try"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a".into(), "success".into(), 1),
            ("b".into(), "success".into(), 2)
        ]
    );
    let runs = u.json(&["dags", "list-runs", "-d", "flaky", "-o", "json"]);
    assert_eq!(runs[0]["state"], "success");
    assert_eq!(runs[0]["triggered_by"], "test");
    // The in-process worker leaves no worker row behind.
    assert_eq!(count(&u, "SELECT count(*) FROM worker").await, 0);

    // Testing the same date again replaces that run, as Airflow does.
    let again = u.run(&["dags", "test", "flaky", "2026-02-03", "--conf", &conf]);
    assert!(again.status.success(), "{:?}", text(&again));
    assert_eq!(
        count(&u, "SELECT count(*) FROM dag_run WHERE dag_id = 'flaky'").await,
        1
    );
}

// A failing DAG: non-zero exit, the failing task's log printed, run failed.
#[tokio::test]
async fn dags_test_of_a_failing_dag_exits_non_zero() {
    let u = setup().await;
    let out = u.run(&["dags", "test", "broken", "2026-02-03T10:00:00+00:00"]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("about to fail"), "{stdout}");
    assert!(stdout.contains("boom: failed"), "{stdout}");
    assert!(stdout.contains("after: upstream_failed"), "{stdout}");
    assert!(!stdout.contains("never"), "{stdout}");
    let runs = u.json(&["dags", "list-runs", "-d", "broken", "-o", "json"]);
    assert_eq!(runs[0]["state"], "failed");

    for (args, says) in [
        (vec!["dags", "test", "nope"], "nope"),
        (vec!["dags", "test", "broken", "--conf", "{bad"], "--conf"),
        (vec!["dags", "test", "broken", "someday"], "someday"),
    ] {
        let out = u.run(&args);
        let (_, stderr) = text(&out);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

// tasks test runs one task ignoring its upstream and leaves no rows.
#[tokio::test]
async fn tasks_test_leaves_nothing_behind() {
    let u = setup().await;
    let mark = u.home.path().join("mark2");
    std::fs::write(&mark, "").expect("mark");
    // `b` waits on `a` in a real run; here it runs alone. Its conf comes
    // from an existing run named on the command line.
    let conf = format!(r#"{{"mark": "{}"}}"#, mark.display());
    u.ok(&[
        "dags",
        "trigger",
        "flaky",
        "--run-id",
        "src",
        "--conf",
        &conf,
        "--logical-date",
        "2026-04-05",
    ]);
    let before_tis = count(&u, "SELECT count(*) FROM task_instance").await;
    let out = u.run(&["tasks", "test", "flaky", "b", "src"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("second try works"), "{stdout}");
    assert!(stdout.contains("__airflow_temporary_run_"), "{stdout}");
    assert_eq!(
        count(&u, "SELECT count(*) FROM dag_run").await,
        1,
        "only the triggered run"
    );
    assert_eq!(
        count(&u, "SELECT count(*) FROM task_instance").await,
        before_tis
    );
    assert_eq!(
        count(
            &u,
            "SELECT count(*) FROM task_instance WHERE state IS NOT NULL"
        )
        .await,
        0,
        "the existing run is untouched"
    );
    for table in [
        "task_log",
        "xcom",
        "task_instance_history",
        "worker",
        "task_reschedule",
    ] {
        assert_eq!(
            count(&u, &format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }

    // A failing task: its log, exit 1, and still nothing left.
    let out = u.run(&["tasks", "test", "broken", "boom"]);
    let (stdout, _) = text(&out);
    assert!(!out.status.success());
    assert!(stdout.contains("about to fail"), "{stdout}");
    assert_eq!(count(&u, "SELECT count(*) FROM dag_run").await, 1);
    assert_eq!(count(&u, "SELECT count(*) FROM task_log").await, 0);

    let out = u.run(&["tasks", "test", "flaky", "zz"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("zz"));
    let out = u.run(&["tasks", "test", "flaky", "a", "no_such_run"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("not found"));
}
