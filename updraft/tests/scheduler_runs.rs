//! DAG run creation against a real Postgres through the real binary:
//! scheduled runs (catchup, end date, paused, `schedule=None`), manual
//! triggers with their task instances, and schedulers racing.

mod support;

use serde_json::{Value, json};
use support::Updraft;
use updraft_core::store::dag_runs::{self, NewDagRun, RunType};

const HEADER: &str = "from datetime import datetime\nfrom airflow import DAG\n\
                      from airflow.operators.empty import EmptyOperator\n\n";

fn daily_dag(dag_id: &str, end_day: u32) -> String {
    format!(
        "{HEADER}with DAG(dag_id={dag_id:?}, schedule='@daily', start_date=datetime(2024, 1, 1),\n\
         \x20        end_date=datetime(2024, 1, {end_day}), catchup=True):\n\
         \x20   EmptyOperator(task_id='a') >> EmptyOperator(task_id='b')\n"
    )
}

fn runs(u: &Updraft, dag_id: &str) -> Vec<Value> {
    u.json(&["dags", "list-runs", dag_id, "-o", "json"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn logical_dates(runs: &[Value]) -> Vec<String> {
    let mut dates: Vec<String> = runs
        .iter()
        .map(|r| r["logical_date"].as_str().unwrap_or("?").to_owned())
        .collect();
    dates.sort();
    dates
}

async fn count(u: &Updraft, sql: &'static str, dag_id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(dag_id)
        .fetch_one(&u.db.pool)
        .await
        .expect("count")
}

// Invariant: a cron DAG with catchup gets exactly one run per ended interval
// between its start and end dates, with Airflow's run ids, and no more later.
#[tokio::test]
async fn catchup_creates_every_interval_up_to_the_end_date() {
    let u = Updraft::new().await;
    u.write_dag("daily.py", &daily_dag("daily", 5));
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "daily"]);
    u.ok(&["scheduler", "--once"]);
    u.ok(&["scheduler", "--once"]);

    let runs = runs(&u, "daily");
    assert_eq!(
        logical_dates(&runs),
        (1..=5)
            .map(|d| format!("2024-01-0{d}T00:00:00+00:00"))
            .collect::<Vec<_>>()
    );
    let first = runs
        .iter()
        .find(|r| r["logical_date"] == "2024-01-01T00:00:00+00:00")
        .expect("first run");
    assert_eq!(first["run_id"], "scheduled__2024-01-01T00:00:00+00:00");
    assert_eq!(first["run_type"], "scheduled");
    // The same pass starts the runs and finishes their EmptyOperator tasks.
    assert_eq!(first["state"], "success");
    assert_eq!(first["data_interval_end"], "2024-01-02T00:00:00+00:00");
    assert_eq!(
        count(
            &u,
            "SELECT count(*) FROM task_instance WHERE dag_id = $1",
            "daily"
        )
        .await,
        10
    );
    // Past the end date nothing is planned.
    let next: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT next_dagrun_create_after FROM dag WHERE dag_id = 'daily'")
            .fetch_one(&u.db.pool)
            .await
            .expect("next");
    assert_eq!(next, None);
}

// Invariant: a paused DAG and a DAG with schedule=None get no scheduled runs.
#[tokio::test]
async fn paused_and_unscheduled_dags_get_no_runs() {
    let u = Updraft::new().await;
    u.write_dag("paused.py", &daily_dag("paused", 3));
    u.write_dag(
        "manual_only.py",
        &format!(
            "{HEADER}with DAG(dag_id='manual_only', schedule=None, start_date=datetime(2024, 1, 1)):\n\
             \x20   EmptyOperator(task_id='a')\n"
        ),
    );
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "manual_only"]);
    u.ok(&["scheduler", "--once"]);
    assert!(runs(&u, "paused").is_empty());
    assert!(runs(&u, "manual_only").is_empty());

    // Unpause, then pause again: the runs of one pass stay, no more follow.
    u.ok(&["dags", "unpause", "paused"]);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(runs(&u, "paused").len(), 3);
    u.ok(&["dags", "pause", "paused"]);
    let listed = u.json(&["dags", "list", "-o", "json"]);
    let paused = listed
        .as_array()
        .and_then(|a| a.iter().find(|d| d["dag_id"] == "paused"))
        .map(|d| d["is_paused"].clone());
    assert_eq!(paused, Some(json!(true)));
    assert!(!u.run(&["dags", "pause", "no_such_dag"]).status.success());
}

// Invariant: a manual run carries its conf and gets one task instance per
// task, with Airflow's priority weights (downstream sums, absolute as is) and
// max_tries = retries; bad input is refused with a non-zero exit.
#[tokio::test]
async fn manual_trigger_creates_the_run_and_its_task_instances() {
    let u = Updraft::new().await;
    u.write_dag(
        "diamond.py",
        &format!(
            "{HEADER}with DAG(dag_id='diamond', schedule='@daily', start_date=datetime(2024, 1, 1)):\n\
             \x20   a = EmptyOperator(task_id='a', retries=3)\n\
             \x20   b = EmptyOperator(task_id='b')\n\
             \x20   c = EmptyOperator(task_id='c')\n\
             \x20   d = EmptyOperator(task_id='d')\n\
             \x20   e = EmptyOperator(task_id='e', priority_weight=5, weight_rule='absolute')\n\
             \x20   a >> [b, c] >> d >> e\n"
        ),
    );
    u.ok(&["dags", "reserialize"]);
    let created = u.json(&[
        "dags",
        "trigger",
        "diamond",
        "--conf",
        r#"{"answer": 42}"#,
        "--logical-date",
        "2024-03-01T12:00:00+00:00",
        "-o",
        "json",
    ]);
    let run_id = created[0]["run_id"].as_str().expect("run_id").to_owned();
    assert_eq!(run_id, "manual__2024-03-01T12:00:00+00:00");

    let runs = runs(&u, "diamond");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["run_id"], run_id.as_str());
    assert_eq!(runs[0]["run_type"], "manual");
    assert_eq!(runs[0]["conf"], json!({"answer": 42}));
    // @daily (a data-interval timetable) infers the day before for manual runs.
    assert_eq!(runs[0]["data_interval_start"], "2024-02-29T00:00:00+00:00");
    assert_eq!(runs[0]["data_interval_end"], "2024-03-01T00:00:00+00:00");

    let tis: Vec<(String, Option<String>, i32, i32, String)> = sqlx::query_as(
        "SELECT task_id, state, priority_weight, max_tries, operator FROM task_instance
          WHERE dag_id = 'diamond' AND run_id = $1 ORDER BY task_id",
    )
    .bind(&run_id)
    .fetch_all(&u.db.pool)
    .await
    .expect("task instances");
    let weights: Vec<(&str, i32)> = tis.iter().map(|t| (t.0.as_str(), t.2)).collect();
    assert_eq!(
        weights,
        vec![("a", 9), ("b", 7), ("c", 7), ("d", 6), ("e", 5)]
    );
    assert!(tis.iter().all(|t| t.1.is_none() && t.4 == "EmptyOperator"));
    assert_eq!(tis[0].3, 3);

    // Refused: the same run id again, an unknown DAG, conf that is not JSON
    // or not an object, a bad logical date.
    for args in [
        vec!["dags", "trigger", "diamond", "--run-id", run_id.as_str()],
        vec!["dags", "trigger", "no_such_dag"],
        vec!["dags", "trigger", "diamond", "--conf", "{not json"],
        vec!["dags", "trigger", "diamond", "--conf", "[1, 2]"],
        vec!["dags", "trigger", "diamond", "--logical-date", "yesterday"],
    ] {
        let out = u.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
    }
    let out = u.run(&["dags", "trigger", "diamond", "--run-id", run_id.as_str()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(
        count(
            &u,
            "SELECT count(*) FROM dag_run WHERE dag_id = $1",
            "diamond"
        )
        .await,
        1
    );
}

// Invariant: schedulers started at the same moment create each scheduled run
// exactly once, with exactly one set of task instances.
#[tokio::test]
async fn racing_schedulers_create_each_run_once() {
    let u = Updraft::new().await;
    let dag_ids = ["race_a", "race_b", "race_c"];
    for id in dag_ids {
        u.write_dag(&format!("{id}.py"), &daily_dag(id, 9));
    }
    u.ok(&["dags", "reserialize"]);
    for id in dag_ids {
        u.ok(&["dags", "unpause", id]);
    }
    let children: Vec<_> = (0..6)
        .map(|_| {
            u.command(&["scheduler", "--once"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn scheduler")
        })
        .collect();
    let mut created = 0;
    for child in children {
        let out = child.wait_with_output().expect("scheduler");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        created += stdout
            .split("created ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no count in {stdout:?}"));
    }
    assert_eq!(created, 27, "runs reported created across all schedulers");
    for id in dag_ids {
        let runs = runs(&u, id);
        let dates = logical_dates(&runs);
        let mut unique = dates.clone();
        unique.dedup();
        assert_eq!((dates.len(), unique.len()), (9, 9), "{id}");
        let tis = count(
            &u,
            "SELECT count(*) FROM task_instance WHERE dag_id = $1",
            id,
        )
        .await;
        assert_eq!(tis, 18, "{id}");
    }
}

// Invariant: concurrent inserts of the same scheduled interval (even under
// different run ids) create one run; the others are told it exists.
#[tokio::test]
async fn concurrent_inserts_of_one_interval_create_one_run() {
    let u = Updraft::new().await;
    u.write_dag("one.py", &daily_dag("one", 3));
    u.ok(&["dags", "reserialize"]);
    let at = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00+00:00")
        .expect("date")
        .to_utc();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let pool = u.db.pool.clone();
            tokio::spawn(async move {
                let run = NewDagRun {
                    dag_id: "one".into(),
                    run_id: if i % 2 == 0 {
                        RunType::Scheduled.run_id(at)
                    } else {
                        format!("other_{i}")
                    },
                    run_type: RunType::Scheduled,
                    logical_date: Some(at),
                    data_interval: Some((at, at + chrono::TimeDelta::days(1))),
                    run_after: at + chrono::TimeDelta::days(1),
                    conf: json!({}),
                    triggered_by: "test",
                };
                let mut conn = pool.acquire().await.expect("connection");
                dag_runs::insert(&mut conn, &run).await.expect("insert")
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        if t.await.expect("task").is_some() {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(
        count(&u, "SELECT count(*) FROM dag_run WHERE dag_id = $1", "one").await,
        1
    );
}

// Invariant: the long-running scheduler creates due runs by itself and exits
// cleanly (status 0) on SIGTERM.
#[tokio::test]
async fn scheduler_loop_creates_runs_and_stops_on_sigterm() {
    use std::time::{Duration, Instant};

    let u = Updraft::new().await;
    u.write_dag("looped.py", &daily_dag("looped", 2));
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "looped"]);
    let mut child = u
        .command(&["scheduler", "--interval", "0.1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn scheduler");
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(
        &u,
        "SELECT count(*) FROM dag_run WHERE dag_id = $1",
        "looped",
    )
    .await
        < 2
    {
        assert!(Instant::now() < deadline, "no runs created by the loop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("scheduler did not stop on SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
    assert_eq!(runs(&u, "looped").len(), 2);
}
