//! PythonSensor and `@task.sensor` through the real scheduler and worker:
//! each poke runs in the Python task runner and the sensor driver decides
//! (reschedule mode giving the slot back, `PokeReturnValue`'s XCom, the
//! sensor timeout failing without retry). DAGs:
//! `fixtures/python_tasks/py_sensors.py`.

mod support;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use support::Updraft;

const DAGS: &str = include_str!("fixtures/python_tasks/py_sensors.py");

fn stop(children: Vec<Child>) {
    for mut child in children {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
}

async fn ti(u: &Updraft, task: &str) -> (Option<String>, i32) {
    sqlx::query_as("SELECT state, try_number FROM task_instance WHERE task_id = $1")
        .bind(task)
        .fetch_one(&u.db.pool)
        .await
        .expect("task instance")
}

async fn wait_for(u: &Updraft, task: &str, states: &[&str]) -> (Option<String>, i32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = ti(u, task).await;
        if t.0.as_deref().is_some_and(|s| states.contains(&s)) || Instant::now() > deadline {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// Invariant: Python sensors poke until their condition holds (reschedule
// mode between pokes), push PokeReturnValue's XCom, and time out without a
// retry.
#[tokio::test]
async fn python_sensors_poke_reschedule_push_and_time_out() {
    let u = Updraft::new().await;
    u.write_dag("py_sensors.py", DAGS);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "py_sense"]);
    let marker = u.home.path().join("marker");
    let conf = serde_json::json!({"marker": marker}).to_string();
    u.ok(&[
        "dags", "trigger", "py_sense", "--run-id", "r", "--conf", &conf,
    ]);
    let children = vec![
        u.command(&["scheduler", "--interval", "0.1"])
            .spawn()
            .expect("scheduler"),
        u.command(&["worker", "--concurrency", "4"])
            .spawn()
            .expect("worker"),
    ];
    let waiting = wait_for(&u, "wait", &["up_for_reschedule"]).await;
    let never = wait_for(&u, "never", &["failed", "success"]).await;
    let ready_before = ti(&u, "ready").await;
    std::fs::write(&marker, "x").expect("marker");
    let wait_done = wait_for(&u, "wait", &["success", "failed"]).await;
    let ready_done = wait_for(&u, "ready", &["success", "failed"]).await;
    stop(children);

    assert_eq!(waiting.0.as_deref(), Some("up_for_reschedule"));
    assert_eq!(
        never,
        (Some("failed".to_owned()), 1),
        "timed out, not retried"
    );
    assert_eq!(
        ready_before.0.as_deref(),
        Some("running"),
        "poking while the file is missing"
    );
    assert_eq!(
        wait_done,
        (Some("success".to_owned()), 1),
        "same try across reschedules"
    );
    assert_eq!(ready_done.0.as_deref(), Some("success"));
    let pokes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM task_reschedule r JOIN task_instance t ON t.id = r.ti_id
          WHERE t.task_id = 'wait'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("reschedules");
    assert!(pokes >= 1, "{pokes}");
    let xcom: serde_json::Value = sqlx::query_scalar(
        "SELECT value FROM xcom WHERE task_id = 'ready' AND key = 'return_value'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("xcom");
    assert_eq!(xcom, serde_json::json!("found"));
}
