//! The scheduler against a real Postgres through the real binary, for what
//! depends on other runs or on time: `depends_on_past`,
//! `wait_for_downstream`, `ignore_first_depends_on_past` and
//! `dagrun_timeout`.

mod support;

use support::Updraft;

const HEADER: &str = "from datetime import datetime, timedelta\nfrom airflow import DAG\n\
                      from airflow.operators.bash import BashOperator\n\n";

/// A catchup=False DAG (so manual runs count as each other's past, as in
/// Airflow) with `a >> b`, `a` taking `a_args`.
fn dag(dag_id: &str, dag_args: &str, a_args: &str) -> String {
    format!(
        "{HEADER}with DAG(dag_id={dag_id:?}, schedule=None, catchup=False, \
         start_date=datetime(2024, 1, 1){dag_args}):\n\
         \x20   a = BashOperator(task_id='a', bash_command='true'{a_args})\n\
         \x20   b = BashOperator(task_id='b', bash_command='true')\n\
         \x20   a >> b\n"
    )
}

/// Loads, unpauses and triggers one run per day from 2024-01-01.
fn setup(u: &Updraft, dag_id: &str, runs: u32) -> Vec<String> {
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", dag_id]);
    (1..=runs)
        .map(|day| {
            let run_id = format!("day_{day}");
            let date = format!("2024-01-{day:02}T00:00:00+00:00");
            u.ok(&[
                "dags",
                "trigger",
                dag_id,
                "--run-id",
                &run_id,
                "--logical-date",
                &date,
            ]);
            run_id
        })
        .collect()
}

async fn state(u: &Updraft, run_id: &str, task_id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT state FROM task_instance WHERE run_id = $1 AND task_id = $2")
        .bind(run_id)
        .bind(task_id)
        .fetch_one(&u.db.pool)
        .await
        .expect("ti state")
}

/// What a worker would have done: end one task instance.
async fn set_state(u: &Updraft, run_id: &str, task_id: &str, state: &str) {
    sqlx::query(
        "UPDATE task_instance SET state = $3, start_date = now(), end_date = now(),
                                  try_number = GREATEST(try_number, 1)
          WHERE run_id = $1 AND task_id = $2",
    )
    .bind(run_id)
    .bind(task_id)
    .bind(state)
    .execute(&u.db.pool)
    .await
    .expect("set state");
}

// Invariant: with depends_on_past a task runs only after the same task of
// the previous run succeeded or was skipped; the first run does not wait.
#[tokio::test]
async fn depends_on_past_waits_for_the_previous_run() {
    let u = Updraft::new().await;
    u.write_dag("dop.py", &dag("dop", "", ", depends_on_past=True"));
    let runs = setup(&u, "dop", 2);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(state(&u, &runs[0], "a").await.as_deref(), Some("queued"));
    assert_eq!(state(&u, &runs[1], "a").await, None, "waits for day 1");
    set_state(&u, &runs[0], "a", "failed").await;
    u.ok(&["scheduler", "--once"]);
    assert_eq!(state(&u, &runs[1], "a").await, None, "a failed past blocks");
    set_state(&u, &runs[0], "a", "success").await;
    u.ok(&["scheduler", "--once"]);
    assert_eq!(state(&u, &runs[1], "a").await.as_deref(), Some("queued"));
}

// Invariant: wait_for_downstream also waits for the previous run's direct
// downstream tasks of that task.
#[tokio::test]
async fn wait_for_downstream_waits_for_the_previous_downstream() {
    let u = Updraft::new().await;
    u.write_dag("wfd.py", &dag("wfd", "", ", wait_for_downstream=True"));
    let runs = setup(&u, "wfd", 2);
    set_state(&u, &runs[0], "a", "success").await;
    u.ok(&["scheduler", "--once"]);
    assert_eq!(state(&u, &runs[0], "b").await.as_deref(), Some("queued"));
    assert_eq!(state(&u, &runs[1], "a").await, None, "b of day 1 not done");
    set_state(&u, &runs[0], "b", "success").await;
    u.ok(&["scheduler", "--once"]);
    assert_eq!(state(&u, &runs[1], "a").await.as_deref(), Some("queued"));
}

// Invariant: a previous run without the task blocks depends_on_past unless
// ignore_first_depends_on_past is set and no earlier run had the task.
#[tokio::test]
async fn ignore_first_depends_on_past_lets_a_new_task_start() {
    let u = Updraft::new().await;
    // Day 1 runs a DAG without task a's dependency setting; then a is
    // removed from day 1 as if the task were new.
    let args = ", depends_on_past=True, ignore_first_depends_on_past=True";
    u.write_dag("igf.py", &dag("igf", "", args));
    let runs = setup(&u, "igf", 2);
    sqlx::query("DELETE FROM task_instance WHERE run_id = $1 AND task_id = 'a'")
        .bind(&runs[0])
        .execute(&u.db.pool)
        .await
        .expect("delete");
    u.ok(&["scheduler", "--once"]);
    assert_eq!(state(&u, &runs[1], "a").await.as_deref(), Some("queued"));

    u.write_dag("strict.py", &dag("strict", "", ", depends_on_past=True"));
    let runs = setup(&u, "strict", 2);
    sqlx::query(
        "DELETE FROM task_instance WHERE run_id = $1 AND task_id = 'a' AND dag_id = 'strict'",
    )
    .bind(&runs[0])
    .execute(&u.db.pool)
    .await
    .expect("delete");
    u.ok(&["scheduler", "--once"]);
    let strict: Option<String> = sqlx::query_scalar(
        "SELECT state FROM task_instance WHERE dag_id = 'strict' AND run_id = $1 AND task_id = 'a'",
    )
    .bind(&runs[1])
    .fetch_one(&u.db.pool)
    .await
    .expect("state");
    assert_eq!(
        strict, None,
        "no previous task instance: depends_on_past waits"
    );
}

// Invariant: a run still running after dagrun_timeout fails, and its
// unfinished task instances (running ones too) are skipped.
#[tokio::test]
async fn dagrun_timeout_fails_the_run_and_skips_what_is_left() {
    let u = Updraft::new().await;
    let args = ", dagrun_timeout=timedelta(seconds=30)";
    u.write_dag("slow.py", &dag("slow", args, ""));
    let runs = setup(&u, "slow", 1);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(state(&u, &runs[0], "a").await.as_deref(), Some("queued"));
    u.ok(&["scheduler", "--once"]);
    let run_state = |u: &Updraft| {
        let pool = u.db.pool.clone();
        let run_id = runs[0].clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT state FROM dag_run WHERE run_id = $1")
                .bind(run_id)
                .fetch_one(&pool)
                .await
                .expect("run state")
        }
    };
    assert_eq!(run_state(&u).await, "running", "not timed out yet");
    sqlx::query("UPDATE dag_run SET start_date = now() - interval '31 seconds' WHERE run_id = $1")
        .bind(&runs[0])
        .execute(&u.db.pool)
        .await
        .expect("age the run");
    u.ok(&["scheduler", "--once"]);
    assert_eq!(run_state(&u).await, "failed");
    assert_eq!(state(&u, &runs[0], "a").await.as_deref(), Some("skipped"));
    assert_eq!(state(&u, &runs[0], "b").await.as_deref(), Some("skipped"));
}
