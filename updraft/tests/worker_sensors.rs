//! Native sensors through the real `scheduler` and `worker` processes:
//! poke mode, reschedule mode (slot given back, same try), timeouts with and
//! without `soft_fail`, and each sensor's condition. DAGs:
//! `fixtures/native_tasks/sensors.py`.

mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use support::{Running, Updraft};

const DAGS: &str = include_str!("fixtures/native_tasks/sensors.py");

async fn setup(dags: &[&str]) -> Updraft {
    let u = Updraft::new().await;
    u.write_dag("sensors.py", DAGS);
    u.ok(&["dags", "reserialize"]);
    for d in dags {
        u.ok(&["dags", "unpause", d]);
    }
    u
}

fn trigger(u: &Updraft, dag: &str, run: &str, conf: &str, logical_date: &str) {
    u.ok(&[
        "dags",
        "trigger",
        dag,
        "--run-id",
        run,
        "--conf",
        conf,
        "--logical-date",
        logical_date,
    ]);
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
struct Ti {
    state: Option<String>,
    try_number: i32,
    end_date: Option<DateTime<Utc>>,
}

async fn ti(u: &Updraft, dag: &str, run: &str, task: &str) -> Ti {
    sqlx::query_as(
        "SELECT state, try_number, end_date FROM task_instance
          WHERE dag_id = $1 AND run_id = $2 AND task_id = $3",
    )
    .bind(dag)
    .bind(run)
    .bind(task)
    .fetch_one(&u.db.pool)
    .await
    .expect("task instance")
}

/// Polls until `task` is in one of `states` (or the deadline passes).
async fn wait_state(u: &Updraft, dag: &str, run: &str, task: &str, states: &[&str]) -> Ti {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = ti(u, dag, run, task).await;
        if t.state.as_deref().is_some_and(|s| states.contains(&s)) || Instant::now() > deadline {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(try_number)` of each task_reschedule row of the task, oldest first.
async fn reschedules(u: &Updraft, dag: &str, run: &str, task: &str) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT r.try_number FROM task_reschedule r JOIN task_instance t ON t.id = r.ti_id
          WHERE t.dag_id = $1 AND t.run_id = $2 AND t.task_id = $3 ORDER BY r.id",
    )
    .bind(dag)
    .bind(run)
    .bind(task)
    .fetch_all(&u.db.pool)
    .await
    .expect("reschedules")
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

// Invariant: a poke-mode sensor keeps its slot and succeeds on the first
// poke after its condition appears, within the same try.
#[tokio::test]
async fn poke_mode_succeeds_once_the_file_appears() {
    let u = setup(&["poke_file"]).await;
    let base = tempfile::tempdir().expect("tempdir");
    let extra = serde_json::json!({ "path": base.path() }).to_string();
    sqlx::query("INSERT INTO connection (conn_id, conn_type, extra) VALUES ('fs_tmp', 'fs', $1)")
        .bind(extra.as_bytes())
        .execute(&u.db.pool)
        .await
        .expect("connection");
    trigger(&u, "poke_file", "r", "{}", "2026-03-04T00:00:00+00:00");
    let _procs = Running::start(&u, 2, 30);

    let running = wait_state(&u, "poke_file", "r", "wait", &["running"]).await;
    assert_eq!(running.state.as_deref(), Some("running"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        ti(&u, "poke_file", "r", "wait").await.state.as_deref(),
        Some("running"),
        "no file yet: still poking"
    );
    // Taken before the file exists: the poke that sees it may end the try
    // before this test would read the clock again.
    let appeared = Utc::now();
    std::fs::create_dir_all(base.path().join("in")).expect("mkdir");
    std::fs::write(base.path().join("in/data.csv"), "1").expect("write");

    let done = wait_state(&u, "poke_file", "r", "wait", &["success", "failed"]).await;
    assert_eq!(
        (done.state.as_deref(), done.try_number),
        (Some("success"), 1)
    );
    assert!(done.end_date.is_some_and(|e| e >= appeared), "{done:?}");
    assert!(reschedules(&u, "poke_file", "r", "wait").await.is_empty());
    let text = log(&u, "poke_file", "r", "wait").await;
    assert!(text.contains("Success criteria met"), "{text}");
}

// Invariant: reschedule mode frees the slot between pokes (another task
// runs on a one-slot worker meanwhile), records task_reschedule rows, and
// finishes in the same try once the condition holds.
#[tokio::test]
async fn reschedule_mode_frees_the_slot_and_keeps_the_try() {
    let u = setup(&["resched"]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ready");
    let conf = serde_json::json!({ "marker": marker }).to_string();
    trigger(&u, "resched", "r", &conf, "2026-03-04T00:00:00+00:00");
    let _procs = Running::start(&u, 1, 30);

    let other = wait_state(&u, "resched", "r", "other", &["success", "failed"]).await;
    assert_eq!(other.state.as_deref(), Some("success"));
    // Between pokes the sensor sits in up_for_reschedule, holding no slot.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen_waiting = false;
    while Instant::now() < deadline {
        let state = ti(&u, "resched", "r", "wait").await.state;
        seen_waiting |= state.as_deref() == Some("up_for_reschedule");
        if seen_waiting && reschedules(&u, "resched", "r", "wait").await.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen_waiting, "state up_for_reschedule between pokes");
    let waiting = ti(&u, "resched", "r", "wait").await;
    assert_ne!(waiting.state.as_deref(), Some("success"), "{waiting:?}");
    std::fs::write(&marker, "").expect("marker");

    let done = wait_state(&u, "resched", "r", "wait", &["success", "failed"]).await;
    assert_eq!(
        (done.state.as_deref(), done.try_number),
        (Some("success"), 1)
    );
    let rows = reschedules(&u, "resched", "r", "wait").await;
    assert!(rows.len() >= 3 && rows.iter().all(|t| *t == 1), "{rows:?}");
    let history: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM task_instance_history h JOIN task_instance t ON t.id = h.ti_id
          WHERE t.dag_id = 'resched' AND t.task_id = 'wait'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("history");
    assert_eq!(history, 1, "one try, ended once");
}

// Invariant: the sensor timeout fails without retry (also when it spans
// reschedules), soft_fail turns it into a skip, and a BashSensor exit code
// other than retry_exit_code fails without retry; execution_timeout is an
// ordinary, retried failure. (DayOfWeekSensor rides
// along: its day is the logical date's.)
#[tokio::test]
async fn timeouts_fail_without_retry_or_skip_with_soft_fail() {
    let u = setup(&["timeouts"]).await;
    trigger(&u, "timeouts", "r", "{}", "2026-03-04T00:00:00+00:00");
    let _procs = Running::start(&u, 4, 30);

    for task in ["hard", "resched_hard", "bad_exit"] {
        let t = wait_state(&u, "timeouts", "r", task, &["failed", "skipped", "success"]).await;
        assert_eq!(
            (t.state.as_deref(), t.try_number),
            (Some("failed"), 1),
            "{task}"
        );
    }
    let soft = wait_state(
        &u,
        "timeouts",
        "r",
        "soft",
        &["failed", "skipped", "success"],
    )
    .await;
    assert_eq!(soft.state.as_deref(), Some("skipped"));
    assert!(
        reschedules(&u, "timeouts", "r", "resched_hard").await.len() >= 2,
        "the timeout spans reschedules"
    );
    let slot = wait_state(
        &u,
        "timeouts",
        "r",
        "slot_timeout",
        &["up_for_retry", "failed", "skipped"],
    )
    .await;
    assert_eq!(
        (slot.state.as_deref(), slot.try_number),
        (Some("up_for_retry"), 1)
    );
    let text = log(&u, "timeouts", "r", "hard").await;
    assert!(text.contains("Sensor has timed out"), "{text}");
}

// Invariant: each time sensor waits for its own moment: data_interval_end +
// delta, a rendered datetime, a time of day (2.x: every day).
#[tokio::test]
async fn time_sensors_wait_for_their_moment() {
    let u = setup(&["times"]).await;
    let now = Utc::now();
    let logical = now.to_rfc3339();
    let conf = serde_json::json!({ "past": "2020-01-01T00:00:00+00:00" }).to_string();
    trigger(&u, "times", "r", &conf, &logical);
    let _procs = Running::start(&u, 4, 30);

    let delta = wait_state(&u, "times", "r", "delta", &["success", "failed"]).await;
    assert_eq!(delta.state.as_deref(), Some("success"));
    assert!(
        delta
            .end_date
            .is_some_and(|e| e >= now + TimeDelta::seconds(1)),
        "{delta:?}"
    );
    for task in ["past", "midnight"] {
        let t = wait_state(&u, "times", "r", task, &["success", "failed"]).await;
        assert_eq!(t.state.as_deref(), Some("success"), "{task}");
    }
    let never = wait_state(
        &u,
        "times",
        "r",
        "never_today",
        &["success", "skipped", "failed"],
    )
    .await;
    assert_eq!(never.state.as_deref(), Some("skipped"));
}

// Invariant: ExternalTaskSensor matches the other DAG's run at its logical
// date minus execution_delta: waits for the task, fails on failed_states,
// waits for a whole run; the marker just succeeds.
#[tokio::test]
async fn external_task_sensor_follows_the_other_dag() {
    let u = setup(&["up", "down"]).await;
    trigger(&u, "down", "d", "{}", "2026-03-04T01:00:00+00:00");
    let _procs = Running::start(&u, 6, 30);
    let marker = wait_state(&u, "down", "d", "marker", &["success", "failed"]).await;
    assert_eq!(marker.state.as_deref(), Some("success"));
    // execution_date_fn cannot run natively: failed at once, without retry.
    let by_fn = wait_state(&u, "down", "d", "by_fn", &["success", "failed"]).await;
    assert_eq!(
        (by_fn.state.as_deref(), by_fn.try_number),
        (Some("failed"), 1)
    );
    assert!(
        log(&u, "down", "d", "by_fn")
            .await
            .contains("execution_date_fn")
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        ti(&u, "down", "d", "task").await.state.as_deref(),
        Some("running"),
        "no run of `up` yet: waiting"
    );
    trigger(&u, "up", "u", "{}", "2026-03-04T00:00:00+00:00");

    let work = wait_state(&u, "up", "u", "work", &["success", "failed"]).await;
    let task = wait_state(&u, "down", "d", "task", &["success", "failed"]).await;
    assert_eq!(task.state.as_deref(), Some("success"));
    assert!(task.end_date >= work.end_date, "{task:?} after {work:?}");
    let failing = wait_state(&u, "down", "d", "failing", &["success", "failed"]).await;
    assert_eq!(failing.state.as_deref(), Some("failed"));
    let whole = wait_state(&u, "down", "d", "whole", &["success", "failed"]).await;
    assert_eq!(whole.state.as_deref(), Some("success"));
    let up_state: String = sqlx::query_scalar("SELECT state FROM dag_run WHERE run_id = 'u'")
        .fetch_one(&u.db.pool)
        .await
        .expect("up run");
    assert_eq!(up_state, "failed", "`whole` allowed a failed run");
}

// Invariant: a poking sensor whose try is taken away (here: marked success
// by hand, so its heartbeat is refused) stops poking at once and does not
// overwrite the state.
#[tokio::test]
async fn a_lost_lease_stops_a_poking_sensor() {
    let u = setup(&["forever"]).await;
    trigger(&u, "forever", "r", "{}", "2026-03-04T00:00:00+00:00");
    let _procs = Running::start(&u, 2, 1);
    let poking = wait_state(&u, "forever", "r", "wait", &["running", "failed"]).await;
    assert_eq!(poking.state.as_deref(), Some("running"));
    // A few heartbeats pass while it pokes: the lease is kept.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        ti(&u, "forever", "r", "wait").await.state.as_deref(),
        Some("running")
    );
    sqlx::query(
        "UPDATE task_instance SET state = 'success', end_date = now()
          WHERE dag_id = 'forever' AND run_id = 'r' AND task_id = 'wait'",
    )
    .execute(&u.db.pool)
    .await
    .expect("mark success");

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut text = String::new();
    while Instant::now() < deadline {
        text = log(&u, "forever", "r", "wait").await;
        if text.contains("lease was lost") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        text.contains("lease was lost: stopping the sensor"),
        "{text}"
    );
    let after = ti(&u, "forever", "r", "wait").await;
    assert_eq!(
        after.state.as_deref(),
        Some("success"),
        "the hand-set state stays"
    );
}
