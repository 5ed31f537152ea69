//! The scheduler's task pass against a real Postgres through the real
//! binary: runs start within `max_active_runs`, trigger rules decide task
//! instances (with skip and upstream_failed propagation), EmptyOperator tasks
//! finish in the scheduler, others are queued within pool slots, runs end by
//! the leaf rule, and two schedulers racing apply each change once.

mod support;

use support::Updraft;

const HEADER: &str = "from datetime import datetime\nfrom airflow import DAG\n\
                      from airflow.operators.empty import EmptyOperator\n\
                      from airflow.operators.bash import BashOperator\n\n";

/// A DAG file with `schedule=None`, `dag_args` added to `DAG(...)` and `body`
/// inside the `with` block (each line indented by the caller's 4 spaces).
fn dag(dag_id: &str, dag_args: &str, body: &str) -> String {
    format!(
        "{HEADER}with DAG(dag_id={dag_id:?}, schedule=None, start_date=datetime(2024, 1, 1){dag_args}):\n{body}"
    )
}

fn bash(id: &str, extra: &str) -> String {
    format!("BashOperator(task_id={id:?}, bash_command='true'{extra})")
}

/// Loads the DAG files, unpauses `dag_id` and triggers `runs` manual runs.
fn setup(u: &Updraft, dag_id: &str, runs: usize) -> Vec<String> {
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", dag_id]);
    (0..runs)
        .map(|i| {
            let run_id = format!("manual_{i}");
            u.ok(&["dags", "trigger", dag_id, "--run-id", &run_id]);
            run_id
        })
        .collect()
}

async fn ti_state(u: &Updraft, dag_id: &str, run_id: &str, task_id: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT state FROM task_instance WHERE dag_id = $1 AND run_id = $2 AND task_id = $3",
    )
    .bind(dag_id)
    .bind(run_id)
    .bind(task_id)
    .fetch_one(&u.db.pool)
    .await
    .expect("ti state")
}

async fn run_state(u: &Updraft, dag_id: &str, run_id: &str) -> String {
    sqlx::query_scalar("SELECT state FROM dag_run WHERE dag_id = $1 AND run_id = $2")
        .bind(dag_id)
        .bind(run_id)
        .fetch_one(&u.db.pool)
        .await
        .expect("run state")
}

/// What a worker would have done: end a task instance by hand.
async fn set_state(u: &Updraft, dag_id: &str, task_id: &str, state: &str) {
    sqlx::query(
        "UPDATE task_instance SET state = $3, start_date = now(), end_date = now()
          WHERE dag_id = $1 AND task_id = $2",
    )
    .bind(dag_id)
    .bind(task_id)
    .bind(state)
    .execute(&u.db.pool)
    .await
    .expect("set state");
}

fn states(pairs: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
    pairs
        .iter()
        .map(|(t, s)| ((*t).to_owned(), Some((*s).to_owned())))
        .collect()
}

async fn all_states(u: &Updraft, dag_id: &str, run_id: &str) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "SELECT task_id, state FROM task_instance WHERE dag_id = $1 AND run_id = $2
          ORDER BY task_id",
    )
    .bind(dag_id)
    .bind(run_id)
    .fetch_all(&u.db.pool)
    .await
    .expect("states")
}

const DIAMOND: &str = "    a, b, c, d = [EmptyOperator(task_id=t) for t in 'abcd']\n\
                       \x20   a >> [b, c] >> d\n";

// Invariant: a DAG of EmptyOperator tasks runs to success in one scheduler
// pass, without a worker, each task counted as one try.
#[tokio::test]
async fn empty_diamond_succeeds_in_one_pass() {
    let u = Updraft::new().await;
    u.write_dag("diamond.py", &dag("diamond", "", DIAMOND));
    let runs = setup(&u, "diamond", 1);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(
        all_states(&u, "diamond", &runs[0]).await,
        states(&[
            ("a", "success"),
            ("b", "success"),
            ("c", "success"),
            ("d", "success")
        ])
    );
    assert_eq!(run_state(&u, "diamond", &runs[0]).await, "success");
    let listed = u.json(&["dags", "list-runs", "diamond", "-o", "json"]);
    assert!(listed[0]["end_date"].is_string(), "{listed}");
}

// Invariant: with all_success a failure propagates upstream_failed down the
// chain, and the run fails by the leaf rule.
#[tokio::test]
async fn failure_propagates_upstream_failed_and_fails_the_run() {
    let u = Updraft::new().await;
    let body = format!(
        "    {} >> {} >> {}\n",
        bash("a", ""),
        bash("b", ""),
        bash("c", "")
    );
    u.write_dag("chain.py", &dag("chain", "", &body));
    let runs = setup(&u, "chain", 1);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(
        ti_state(&u, "chain", &runs[0], "a").await.as_deref(),
        Some("queued")
    );
    assert_eq!(ti_state(&u, "chain", &runs[0], "b").await, None);
    set_state(&u, "chain", "a", "failed").await;
    u.ok(&["scheduler", "--once"]);
    assert_eq!(
        all_states(&u, "chain", &runs[0]).await,
        states(&[
            ("a", "failed"),
            ("b", "upstream_failed"),
            ("c", "upstream_failed")
        ])
    );
    assert_eq!(run_state(&u, "chain", &runs[0]).await, "failed");
}

// Invariant: a skip propagates through all_success tasks and stops at a
// none_failed_min_one_success join, which runs once another branch succeeds.
#[tokio::test]
async fn skip_propagates_and_stops_at_a_join() {
    let u = Updraft::new().await;
    let body = format!(
        "    a, b, c = {}, {}, {}\n    d = {}\n    a >> b >> d\n    c >> d\n",
        bash("a", ""),
        bash("b", ""),
        bash("c", ""),
        bash("d", ", trigger_rule='none_failed_min_one_success'")
    );
    u.write_dag("join.py", &dag("join", "", &body));
    let runs = setup(&u, "join", 1);
    u.ok(&["scheduler", "--once"]);
    set_state(&u, "join", "a", "skipped").await;
    u.ok(&["scheduler", "--once"]);
    assert_eq!(
        ti_state(&u, "join", &runs[0], "b").await.as_deref(),
        Some("skipped")
    );
    assert_eq!(ti_state(&u, "join", &runs[0], "d").await, None);
    set_state(&u, "join", "c", "success").await;
    u.ok(&["scheduler", "--once"]);
    assert_eq!(
        ti_state(&u, "join", &runs[0], "d").await.as_deref(),
        Some("queued")
    );
    assert_eq!(run_state(&u, "join", &runs[0]).await, "running");
}

// Invariant: one_success runs as soon as one upstream succeeded, while the
// other is still unfinished.
#[tokio::test]
async fn one_success_runs_after_the_first_success() {
    let u = Updraft::new().await;
    let body = format!(
        "    [{}, {}] >> {}\n",
        bash("a", ""),
        bash("b", ""),
        bash("c", ", trigger_rule='one_success'")
    );
    u.write_dag("one.py", &dag("one", "", &body));
    let runs = setup(&u, "one", 1);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(ti_state(&u, "one", &runs[0], "c").await, None);
    set_state(&u, "one", "a", "success").await;
    u.ok(&["scheduler", "--once"]);
    assert_eq!(
        ti_state(&u, "one", &runs[0], "b").await.as_deref(),
        Some("queued")
    );
    assert_eq!(
        ti_state(&u, "one", &runs[0], "c").await.as_deref(),
        Some("queued")
    );
}

// Invariant: tasks for workers are queued only as far as their pool's slots
// allow; the rest stay scheduled.
#[tokio::test]
async fn queueing_respects_pool_slots() {
    let u = Updraft::new().await;
    sqlx::query("INSERT INTO pool (pool, slots) VALUES ('two', 2)")
        .execute(&u.db.pool)
        .await
        .expect("pool");
    let body = format!(
        "    {}, {}, {}\n",
        bash("a", ", pool='two'"),
        bash("b", ", pool='two'"),
        bash("c", ", pool='two'")
    );
    u.write_dag("pooled.py", &dag("pooled", "", &body));
    let runs = setup(&u, "pooled", 1);
    u.ok(&["scheduler", "--once"]);
    let mut got: Vec<Option<String>> = all_states(&u, "pooled", &runs[0])
        .await
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    got.sort();
    let want = ["queued", "queued", "scheduled"].map(|s| Some(s.to_owned()));
    assert_eq!(got, want.to_vec());
}

// Invariant: a DAG never has more running runs than max_active_runs; the
// others stay queued until one ends.
#[tokio::test]
async fn max_active_runs_keeps_extra_runs_queued() {
    let u = Updraft::new().await;
    let body = format!("    {}\n", bash("a", ""));
    u.write_dag("capped.py", &dag("capped", ", max_active_runs=1", &body));
    let runs = setup(&u, "capped", 2);
    u.ok(&["scheduler", "--once"]);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(run_state(&u, "capped", &runs[0]).await, "running");
    assert_eq!(run_state(&u, "capped", &runs[1]).await, "queued");
    set_state(&u, "capped", "a", "success").await;
    u.ok(&["scheduler", "--once"]);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(run_state(&u, "capped", &runs[0]).await, "success");
    assert_eq!(run_state(&u, "capped", &runs[1]).await, "success");
}

// Invariant: two schedulers racing over the same runs apply each change once:
// every run succeeds, every task instance has exactly one try and one
// history row.
#[tokio::test]
async fn racing_schedulers_apply_each_change_once() {
    let u = Updraft::new().await;
    u.write_dag("race.py", &dag("race", "", DIAMOND));
    let runs = setup(&u, "race", 6);
    let children: Vec<_> = (0..2)
        .map(|_| {
            u.command(&["scheduler", "--once"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success());
    }
    // A pass may find a run locked by the other: one more pass finishes it.
    u.ok(&["scheduler", "--once"]);
    for run_id in &runs {
        assert_eq!(run_state(&u, "race", run_id).await, "success");
    }
    let (tries, history): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM task_instance WHERE dag_id = 'race' AND try_number = 1),
                (SELECT count(*) FROM task_instance_history h JOIN task_instance t ON t.id = h.ti_id
                  WHERE t.dag_id = 'race')",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("counts");
    assert_eq!((tries, history), (24, 24));
}

// Invariant: a paused DAG's runs neither start nor progress until it is
// unpaused.
#[tokio::test]
async fn paused_dags_runs_wait() {
    let u = Updraft::new().await;
    u.write_dag("paused.py", &dag("paused", "", DIAMOND));
    let runs = setup(&u, "paused", 1);
    u.ok(&["dags", "pause", "paused"]);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(run_state(&u, "paused", &runs[0]).await, "queued");
    u.ok(&["dags", "unpause", "paused"]);
    sqlx::query("UPDATE dag_run SET state = 'running', start_date = now() WHERE dag_id = 'paused'")
        .execute(&u.db.pool)
        .await
        .expect("start run");
    u.ok(&["dags", "pause", "paused"]);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(ti_state(&u, "paused", &runs[0], "a").await, None);
    u.ok(&["dags", "unpause", "paused"]);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(run_state(&u, "paused", &runs[0]).await, "success");
}
