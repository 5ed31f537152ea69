//! TriggerDagRunOperator, LatestOnlyOperator and the datetime/weekday
//! branches, run natively by the worker with the real scheduler running the
//! runs they create or skip into. DAGs: `fixtures/native_tasks/native.py`.

mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use support::{Running, Updraft};

const DAGS: &str = include_str!("fixtures/native_tasks/native.py");
const LATEST_V3: &str = include_str!("fixtures/native_tasks/latest_v3.py");

async fn setup(dags: &[&str]) -> Updraft {
    let u = Updraft::new().await;
    u.write_dag("native.py", DAGS);
    u.write_dag("latest_v3.py", LATEST_V3);
    u.ok(&["dags", "reserialize"]);
    for d in dags {
        u.ok(&["dags", "unpause", d]);
    }
    u
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
struct Run {
    run_id: String,
    run_type: String,
    state: String,
    conf: Value,
    triggered_by: Option<String>,
    data_interval_end: Option<DateTime<Utc>>,
    end_date: Option<DateTime<Utc>>,
}

async fn runs(u: &Updraft, dag: &str) -> Vec<Run> {
    sqlx::query_as(
        "SELECT run_id, run_type, state, conf, triggered_by, data_interval_end, end_date
           FROM dag_run WHERE dag_id = $1 ORDER BY logical_date, run_id",
    )
    .bind(dag)
    .fetch_all(&u.db.pool)
    .await
    .expect("runs")
}

/// Polls until every run of `dag` has ended and there are at least `count`.
async fn wait_runs(u: &Updraft, dag: &str, count: usize) -> Vec<Run> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rs = runs(u, dag).await;
        let ended = rs
            .iter()
            .all(|r| r.state == "success" || r.state == "failed");
        if (rs.len() >= count && ended) || Instant::now() > deadline {
            return rs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ti(
    u: &Updraft,
    dag: &str,
    run: &str,
    task: &str,
) -> (Option<String>, Option<DateTime<Utc>>) {
    sqlx::query_as(
        "SELECT state, end_date FROM task_instance WHERE dag_id = $1 AND run_id = $2 AND task_id = $3",
    )
    .bind(dag)
    .bind(run)
    .bind(task)
    .fetch_one(&u.db.pool)
    .await
    .expect("task instance")
}

async fn log(u: &Updraft, dag: &str, run: &str, task: &str) -> String {
    let chunks: Vec<String> = sqlx::query_scalar(
        "SELECT l.content FROM task_log l JOIN task_instance t ON t.id = l.ti_id
          WHERE t.dag_id = $1 AND t.run_id = $2 AND t.task_id = $3 ORDER BY l.try_number, l.seq",
    )
    .bind(dag)
    .bind(run)
    .bind(task)
    .fetch_all(&u.db.pool)
    .await
    .expect("log");
    chunks.concat()
}

async fn xcom(u: &Updraft, dag: &str, run: &str, task: &str, key: &str) -> Option<Value> {
    sqlx::query_scalar(
        "SELECT value FROM xcom WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND key = $4",
    )
    .bind(dag)
    .bind(run)
    .bind(task)
    .bind(key)
    .fetch_optional(&u.db.pool)
    .await
    .expect("xcom")
}

// Invariant: TriggerDagRunOperator creates the run with its conf and id and
// pushes Airflow's XComs; an existing run id skips (skip_when_already_exists)
// or fails; with wait_for_completion it ends only after the triggered run,
// and fails when that run fails or execution_timeout passes first; a
// paused target fails with fail_when_dag_is_paused.
#[tokio::test]
async fn trigger_dagrun_creates_runs_and_waits_for_them() {
    let u = setup(&["parent", "child", "bad_child"]).await;
    u.ok(&[
        "dags",
        "trigger",
        "parent",
        "--run-id",
        "p",
        "--logical-date",
        "2026-03-04T00:00:00+00:00",
    ]);
    let _procs = Running::start(&u, 6, 30);
    let parent = wait_runs(&u, "parent", 1).await;
    let children = wait_runs(&u, "child", 3).await;

    let by_id = |id: &str| children.iter().find(|r| r.run_id == id).cloned();
    let fired = by_id("fired_p").expect("run fired_p");
    assert_eq!(
        (
            fired.run_type.as_str(),
            fired.conf.clone(),
            fired.triggered_by.as_deref()
        ),
        ("manual", json!({"k": "v"}), Some("operator"))
    );
    assert_eq!(
        xcom(&u, "parent", "p", "fire", "trigger_run_id").await,
        Some(json!("fired_p"))
    );
    assert!(
        xcom(&u, "parent", "p", "fire", "trigger_execution_date_iso")
            .await
            .is_some(),
        "2.x logical-date key"
    );
    assert_eq!(
        xcom(&u, "child", "fired_p", "echo", "return_value").await,
        Some(json!("got v"))
    );

    assert_eq!(
        ti(&u, "parent", "p", "again_skip").await.0.as_deref(),
        Some("skipped")
    );
    assert_eq!(
        ti(&u, "parent", "p", "again_fail").await.0.as_deref(),
        Some("failed")
    );
    assert_eq!(
        children.len(),
        3,
        "no second run with the same id: {children:?}"
    );

    let waited = by_id("waited_p").expect("run waited_p");
    assert_eq!(waited.state, "success");
    let (wait_state, wait_end) = ti(&u, "parent", "p", "wait").await;
    assert_eq!(wait_state.as_deref(), Some("success"));
    assert!(
        wait_end.is_some_and(|e| waited.end_date.is_some_and(|c| e >= c)),
        "the waiting task ends after the run it waits for: {wait_end:?} vs {:?}",
        waited.end_date
    );

    // execution_timeout bounds the wait; a paused target fails when asked to.
    assert_eq!(
        ti(&u, "parent", "p", "wait_slow").await.0.as_deref(),
        Some("failed")
    );
    assert_eq!(
        ti(&u, "parent", "p", "to_paused").await.0.as_deref(),
        Some("failed")
    );
    assert!(runs(&u, "paused_child").await.is_empty());
    let slow = log(&u, "parent", "p", "wait_slow").await;
    assert!(slow.contains("execution_timeout"), "{slow}");
    let paused = log(&u, "parent", "p", "to_paused").await;
    assert!(paused.contains("Dag paused_child is paused"), "{paused}");

    let bad = wait_runs(&u, "bad_child", 1).await;
    assert_eq!(bad.first().map(|r| r.state.as_str()), Some("failed"));
    assert_eq!(
        ti(&u, "parent", "p", "wait_bad").await.0.as_deref(),
        Some("failed")
    );
    assert_eq!(parent.first().map(|r| r.state.as_str()), Some("failed"));
}

// Invariant: LatestOnly skips its downstream in scheduled runs that are not
// the latest, runs it in the latest one and in manual runs (2.x and 3.x
// windows alike for daily data intervals).
#[tokio::test]
async fn latest_only_skips_all_but_the_latest_scheduled_run() {
    let u = setup(&["latest", "latest_v3"]).await;
    for dag in ["latest", "latest_v3"] {
        u.ok(&[
            "dags",
            "trigger",
            dag,
            "--run-id",
            "by_hand",
            "--logical-date",
            "2026-01-01T00:00:00+00:00",
        ]);
    }
    let _procs = Running::start(&u, 6, 30);
    let today = Utc::now().date_naive();
    for dag in ["latest", "latest_v3"] {
        let rs = wait_runs(&u, dag, 4).await;
        let scheduled: Vec<&Run> = rs.iter().filter(|r| r.run_type == "scheduled").collect();
        assert!(scheduled.len() >= 3, "{dag}: {rs:?}");
        for r in &scheduled {
            let (after, _) = ti(&u, dag, &r.run_id, "after").await;
            let latest = r.data_interval_end.is_some_and(|e| e.date_naive() == today);
            let expected = if latest { "success" } else { "skipped" };
            assert_eq!(after.as_deref(), Some(expected), "{dag}: {r:?}");
            assert_eq!(
                ti(&u, dag, &r.run_id, "latest_only").await.0.as_deref(),
                Some("success")
            );
        }
        assert!(
            scheduled
                .iter()
                .any(|r| r.data_interval_end.is_some_and(|e| e.date_naive() == today)),
            "{dag}: the latest interval ends today: {rs:?}"
        );
        assert_eq!(
            ti(&u, dag, "by_hand", "after").await.0.as_deref(),
            Some("success")
        );
    }
}

// Invariant: the datetime and weekday branches follow the ids their
// condition picks on the logical date and skip the other direct downstream.
#[tokio::test]
async fn datetime_and_weekday_branches_skip_the_other_side() {
    let u = setup(&["branches"]).await;
    // Wednesday 10:00 UTC, then Saturday 20:00 UTC.
    u.ok(&[
        "dags",
        "trigger",
        "branches",
        "--run-id",
        "wed",
        "--logical-date",
        "2026-03-04T10:00:00+00:00",
    ]);
    u.ok(&[
        "dags",
        "trigger",
        "branches",
        "--run-id",
        "sat",
        "--logical-date",
        "2026-03-07T20:00:00+00:00",
    ]);
    let _procs = Running::start(&u, 6, 30);
    wait_runs(&u, "branches", 2).await;

    let mut got = Vec::new();
    for run in ["wed", "sat"] {
        for task in ["in_hours", "out_hours", "midweek", "weekend"] {
            got.push((run, task, ti(&u, "branches", run, task).await.0));
        }
    }
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        vec![
            ("wed", "in_hours", s("success")),
            ("wed", "out_hours", s("skipped")),
            ("wed", "midweek", s("success")),
            ("wed", "weekend", s("skipped")),
            ("sat", "in_hours", s("skipped")),
            ("sat", "out_hours", s("success")),
            ("sat", "midweek", s("skipped")),
            ("sat", "weekend", s("success")),
        ]
    );
    assert_eq!(
        xcom(&u, "branches", "wed", "by_time", "return_value").await,
        Some(json!("in_hours"))
    );
    assert_eq!(
        xcom(&u, "branches", "sat", "by_day", "return_value").await,
        Some(json!("weekend"))
    );
}
