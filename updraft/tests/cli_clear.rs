//! `tasks clear` through the real binary: Airflow's selection (regex,
//! upstream, downstream, only failed/running, dates), the confirmation
//! refused without a terminal, and the cleared tasks run again by the real
//! scheduler and worker with their retries given back (max_tries raised).

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::Updraft;

const RUN: &str = "manual__2026-01-10T00:00:00+00:00";

fn dag(mark: &str) -> String {
    format!(
        "\
from datetime import datetime, timedelta
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(dag_id='c', schedule=None, start_date=datetime(2026, 1, 1)):
    a = BashOperator(task_id='a', bash_command='echo a')
    b = BashOperator(task_id='b', retries=1, retry_delay=timedelta(seconds=1),
                     bash_command='test -f {mark}')
    c = BashOperator(task_id='c', bash_command='echo c')
    d = BashOperator(task_id='d', bash_command='echo d')
    a >> b >> c
"
    )
}

#[derive(Debug, PartialEq)]
struct Ti {
    state: Option<String>,
    try_number: i32,
    max_tries: i32,
}

async fn ti(u: &Updraft, run_id: &str, task_id: &str) -> Ti {
    let (state, try_number, max_tries) = sqlx::query_as(
        "SELECT state, try_number, max_tries FROM task_instance
          WHERE dag_id = 'c' AND run_id = $1 AND task_id = $2",
    )
    .bind(run_id)
    .bind(task_id)
    .fetch_one(&u.db.pool)
    .await
    .expect("ti");
    Ti {
        state,
        try_number,
        max_tries,
    }
}

async fn run_state(u: &Updraft, run_id: &str) -> String {
    sqlx::query_scalar("SELECT state FROM dag_run WHERE dag_id = 'c' AND run_id = $1")
        .bind(run_id)
        .fetch_one(&u.db.pool)
        .await
        .expect("run")
}

/// What `tasks clear` would clear, read from the list it prints before it
/// refuses to go on without a terminal (stdin is not one in tests).
fn would_clear(u: &Updraft, args: &[&str]) -> Vec<String> {
    let mut all = vec!["tasks", "clear", "c"];
    all.extend_from_slice(args);
    let out = u.run(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if stdout.contains("No task instances to clear") {
        assert!(out.status.success(), "{stderr}");
        return Vec::new();
    }
    assert!(
        !out.status.success(),
        "{all:?} must refuse without a terminal: {stdout}"
    );
    assert!(stderr.contains("-y"), "{stderr}");
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("<TaskInstance: c."))
        .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

/// Scheduler and worker passes until `done` holds (or the deadline).
async fn drive_until<F: AsyncFn() -> bool>(u: &Updraft, done: F) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out");
        u.ok(&["scheduler", "--once"]);
        u.ok(&["worker", "--once"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// Selection, confirmation, then the scheduler re-runs what was cleared.
#[tokio::test]
async fn clear_selects_like_airflow_and_the_scheduler_reruns() {
    let u = Updraft::new().await;
    let mark = u.home.path().join("mark");
    u.write_dag("c.py", &dag(&mark.display().to_string()));
    u.ok(&["dags", "reserialize"]);
    // b fails both tries, c is upstream_failed; a and d succeed.
    assert!(!u.run(&["dags", "test", "c", "2026-01-10"]).status.success());
    assert_eq!(
        ti(&u, RUN, "b").await,
        Ti {
            state: Some("failed".into()),
            try_number: 2,
            max_tries: 1
        }
    );

    assert_eq!(would_clear(&u, &["-t", "^b$"]), ["b"]);
    assert_eq!(would_clear(&u, &["-t", "^b$", "-u"]), ["a", "b"]);
    assert_eq!(would_clear(&u, &["-t", "^b$", "-d"]), ["b", "c"]);
    assert_eq!(would_clear(&u, &["-t", "^b$", "-u", "-d"]), ["a", "b", "c"]);
    assert_eq!(would_clear(&u, &["--only-failed"]), ["b", "c"]);
    assert_eq!(would_clear(&u, &["-r"]), Vec::<String>::new());
    assert_eq!(would_clear(&u, &[]), ["a", "b", "c", "d"]);
    // Refusing changed nothing.
    assert_eq!(ti(&u, RUN, "b").await.state.as_deref(), Some("failed"));
    assert_eq!(run_state(&u, RUN).await, "failed");

    let out = u.ok(&["tasks", "clear", "c", "-f", "-y"]);
    assert!(out.contains("Cleared 2"), "{out}");
    // Cleared: no state, and the retries given back (try 2 + retries 1).
    assert_eq!(
        ti(&u, RUN, "b").await,
        Ti {
            state: None,
            try_number: 2,
            max_tries: 3
        }
    );
    assert_eq!(ti(&u, RUN, "c").await.state, None);
    assert_eq!(
        ti(&u, RUN, "a").await,
        Ti {
            state: Some("success".into()),
            try_number: 1,
            max_tries: 0
        }
    );
    assert_eq!(run_state(&u, RUN).await, "queued");
    let audit: Vec<(String, String, Value)> = sqlx::query_as(
        "SELECT event, task_id, extra FROM audit_log WHERE dag_id = 'c' ORDER BY task_id",
    )
    .fetch_all(&u.db.pool)
    .await
    .expect("audit");
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].0, "clear_task_instance");
    assert_eq!(audit[0].1, "b");
    assert_eq!(audit[0].2["from"], "failed");
    assert_eq!(audit[1].2["from"], "upstream_failed");

    // The scheduler runs b again; it fails once more but, with its retries
    // back, goes up for retry instead of failing.
    u.ok(&["dags", "unpause", "c"]);
    drive_until(&u, async || ti(&u, RUN, "b").await.try_number >= 3).await;
    let b = ti(&u, RUN, "b").await;
    assert_eq!(
        (b.state.as_deref(), b.try_number),
        (Some("up_for_retry"), 3),
        "{b:?}"
    );
    std::fs::write(&mark, "").expect("mark");
    drive_until(&u, async || {
        run_state(&u, RUN).await != "running" && run_state(&u, RUN).await != "queued"
    })
    .await;
    assert_eq!(run_state(&u, RUN).await, "success");
    assert_eq!(
        ti(&u, RUN, "b").await,
        Ti {
            state: Some("success".into()),
            try_number: 4,
            max_tries: 3
        }
    );
    assert_eq!(ti(&u, RUN, "c").await.state.as_deref(), Some("success"));
    assert_eq!(ti(&u, RUN, "a").await.try_number, 1, "a was not cleared");

    // -s / -e select runs by logical date.
    u.ok(&[
        "dags",
        "trigger",
        "c",
        "--run-id",
        "later",
        "--logical-date",
        "2026-03-01",
    ]);
    let later = would_clear(&u, &["-t", "^a$", "-s", "2026-02-01"]);
    assert_eq!(later, ["a"]);
    let out = u.run(&["tasks", "clear", "c", "-t", "^a$", "-s", "2026-02-01"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" later "),
        "the later run's a"
    );
    let out = u.run(&["tasks", "clear", "c", "-t", "^a$", "-e", "2026-02-01"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(RUN),
        "the first run's a"
    );

    // Errors: unknown DAG, bad regex, bad date.
    for (args, says) in [
        (vec!["tasks", "clear", "nope", "-y"], "nope"),
        (
            vec!["tasks", "clear", "c", "-t", "(", "-y"],
            "regular expression",
        ),
        (vec!["tasks", "clear", "c", "-s", "soon", "-y"], "soon"),
    ] {
        let out = u.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

// A running try that is cleared goes up for retry once its lease ends, and
// its worker's final write is refused (Airflow's `restarting`).
#[tokio::test]
async fn clearing_a_running_try_retries_it() {
    let u = Updraft::new().await;
    u.write_dag("c.py", &dag("/nonexistent"));
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "trigger", "c", "--run-id", "r"]);
    let worker = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO worker (id, hostname, pid, queues, concurrency, state)
         VALUES ($1, 'h', 1, '{default}', 1, 'running')",
    )
    .bind(worker)
    .execute(&u.db.pool)
    .await
    .expect("worker");
    sqlx::query(
        "UPDATE task_instance SET state = 'running', worker_id = $1, try_number = 1,
                start_date = now(), lease_expires_at = now() + interval '30 seconds'
          WHERE run_id = 'r' AND task_id = 'a'",
    )
    .bind(worker)
    .execute(&u.db.pool)
    .await
    .expect("running");
    u.ok(&["tasks", "clear", "c", "-t", "^a$", "-r", "-y"]);
    let (state, max_tries, retry_after_lease): (Option<String>, i32, bool) = sqlx::query_as(
        "SELECT state, max_tries, next_retry_at >= now() + interval '20 seconds'
           FROM task_instance WHERE run_id = 'r' AND task_id = 'a'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("ti");
    assert_eq!(state.as_deref(), Some("up_for_retry"));
    assert_eq!(max_tries, 1, "try 1 + retries 0: one more try");
    assert!(retry_after_lease, "not before the old lease runs out");
}
