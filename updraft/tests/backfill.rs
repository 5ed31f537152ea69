//! Backfills against a real Postgres: the service (`updraft_scheduler::
//! backfill`) plans and creates them, the real binary's `scheduler --once`
//! runs them (each call a new scheduler process, so every pass after the
//! first is a restart), and `updraft backfill create` does the same from
//! the CLI.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use support::Updraft;
use updraft_core::store::backfills::{NotCreated, Reprocess};
use updraft_core::timetable::ScheduleDefaults;
use updraft_scheduler::Error;
use updraft_scheduler::backfill::{self, Action, BackfillRequest};

const DEFAULTS: ScheduleDefaults = ScheduleDefaults {
    catchup_by_default: false,
    create_cron_data_intervals: false,
};

const HEADER: &str = "from datetime import datetime\nfrom airflow import DAG\n\
                      from airflow.operators.empty import EmptyOperator\n\
                      from airflow.operators.bash import BashOperator\n\n";

/// A daily DAG ending before now (so the scheduler adds no runs of its
/// own) with `body` in its `with` block.
fn daily(dag_id: &str, body: &str) -> String {
    format!(
        "{HEADER}with DAG(dag_id={dag_id:?}, schedule='@daily', start_date=datetime(2024, 1, 1),\n\
         \x20        end_date=datetime(2024, 1, 20), catchup=False):\n{body}"
    )
}

const EMPTY: &str = "    EmptyOperator(task_id='a') >> EmptyOperator(task_id='b')\n";
/// Never finishes without a worker: its runs stay running.
const BASH: &str = "    BashOperator(task_id='a', bash_command='true')\n";

fn jan(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, day, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn request(dag_id: &str, from: u32, to: u32) -> BackfillRequest {
    BackfillRequest {
        dag_id: dag_id.to_owned(),
        from_date: jan(from),
        to_date: jan(to),
        run_backwards: false,
        dag_run_conf: json!({}),
        reprocess: Reprocess::None,
        max_active_runs: 10,
    }
}

async fn setup(u: &Updraft, dag_id: &str, body: &str) {
    u.write_dag(&format!("{dag_id}.py"), &daily(dag_id, body));
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", dag_id]);
}

/// `(logical date day, state)` of the DAG's runs, by date.
async fn runs(u: &Updraft, dag_id: &str) -> Vec<(u32, String)> {
    let rows: Vec<(DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT logical_date, state FROM dag_run WHERE dag_id = $1 ORDER BY logical_date",
    )
    .bind(dag_id)
    .fetch_all(&u.db.pool)
    .await
    .expect("runs");
    rows.into_iter()
        .map(|(at, s)| (chrono::Datelike::day(&at), s))
        .collect()
}

/// The days of the DAG's runs in `state`.
async fn days_in(u: &Updraft, dag_id: &str, state: &str) -> Vec<u32> {
    runs(u, dag_id)
        .await
        .into_iter()
        .filter(|(_, s)| s == state)
        .map(|(d, _)| d)
        .collect()
}

async fn completed(u: &Updraft, id: i64) -> bool {
    sqlx::query_scalar("SELECT completed_at IS NOT NULL FROM backfill WHERE id = $1")
        .bind(id)
        .fetch_one(&u.db.pool)
        .await
        .expect("backfill")
}

/// Sets a run's state as a worker's result would have (test setup).
async fn set_run_state(u: &Updraft, dag_id: &str, day: u32, state: &str) {
    sqlx::query(
        "UPDATE dag_run SET state = $3, start_date = now(),
                end_date = CASE WHEN $3 IN ('success', 'failed') THEN now() END
          WHERE dag_id = $1 AND logical_date = $2",
    )
    .bind(dag_id)
    .bind(jan(day))
    .bind(state)
    .execute(&u.db.pool)
    .await
    .expect("set run state");
}

// Invariant: the dry run plans one date per timetable interval in the range
// and follows Airflow's reprocess table: in-flight runs are never touched,
// `failed` re-runs failed runs only, `completed` every finished run.
#[tokio::test]
async fn dry_run_counts_follow_the_reprocess_behaviour() {
    let u = Updraft::new().await;
    setup(&u, "d", EMPTY).await;
    let first = backfill::create(&u.db.pool, &DEFAULTS, &request("d", 2, 4), "t", Utc::now())
        .await
        .expect("first backfill");
    u.ok(&["scheduler", "--once"]);
    u.ok(&["scheduler", "--once"]);
    assert!(completed(&u, first.backfill.id).await);
    // Jan 2 stays success, Jan 3 failed, Jan 4 running again.
    set_run_state(&u, "d", 3, "failed").await;
    set_run_state(&u, "d", 4, "running").await;

    let now = Utc::now();
    let count = |planned: &[backfill::Planned]| planned.iter().filter(|p| p.runs()).count();
    let mut req = request("d", 1, 5);
    let none = backfill::dry_run(&u.db.pool, &DEFAULTS, &req, now)
        .await
        .expect("dry run");
    assert_eq!(none.len(), 5);
    assert_eq!(count(&none), 2, "{none:?}");
    assert!(matches!(
        none[3].action,
        Action::Skip {
            reason: NotCreated::InFlight,
            ..
        }
    ));
    assert!(matches!(
        none[1].action,
        Action::Skip {
            reason: NotCreated::AlreadyExists,
            ..
        }
    ));
    req.reprocess = Reprocess::Failed;
    let failed = backfill::dry_run(&u.db.pool, &DEFAULTS, &req, now)
        .await
        .expect("dry run");
    assert_eq!(count(&failed), 3, "{failed:?}");
    assert!(matches!(failed[2].action, Action::Rerun { .. }));
    req.reprocess = Reprocess::Completed;
    let all = backfill::dry_run(&u.db.pool, &DEFAULTS, &req, now)
        .await
        .expect("dry run");
    assert_eq!(count(&all), 4, "{all:?}");
    // The dry run wrote nothing.
    assert_eq!(runs(&u, "d").await.len(), 3);
}

// Invariant: re-running failed runs goes through the manual clear: the
// failed run is re-queued with its failed task instances cleared, joins the
// backfill, and the scheduler runs it to success.
#[tokio::test]
async fn reprocessing_failed_runs_clears_and_reruns_them() {
    let u = Updraft::new().await;
    setup(&u, "d", EMPTY).await;
    backfill::create(&u.db.pool, &DEFAULTS, &request("d", 1, 2), "t", Utc::now())
        .await
        .expect("first backfill");
    u.ok(&["scheduler", "--once"]);
    u.ok(&["scheduler", "--once"]);
    set_run_state(&u, "d", 2, "failed").await;
    sqlx::query(
        "UPDATE task_instance SET state = 'failed' WHERE dag_id = 'd' AND task_id = 'b'
            AND run_id = 'backfill__2024-01-02T00:00:00+00:00'",
    )
    .execute(&u.db.pool)
    .await
    .expect("fail b");

    let mut req = request("d", 1, 2);
    req.reprocess = Reprocess::Failed;
    let created = backfill::create(&u.db.pool, &DEFAULTS, &req, "t", Utc::now())
        .await
        .expect("second backfill");
    assert_eq!(created.backfill.total, 1);
    let (state, backfill_id): (String, Option<i64>) = sqlx::query_as(
        "SELECT state, backfill_id FROM dag_run WHERE dag_id = 'd' AND logical_date = $1",
    )
    .bind(jan(2))
    .fetch_one(&u.db.pool)
    .await
    .expect("run");
    assert_eq!(state, "queued");
    assert_eq!(backfill_id, Some(created.backfill.id));
    let cleared: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT task_id, state FROM task_instance
          WHERE run_id = 'backfill__2024-01-02T00:00:00+00:00' ORDER BY task_id",
    )
    .fetch_all(&u.db.pool)
    .await
    .expect("tis");
    // Only the failed task instance was cleared.
    assert_eq!(
        cleared,
        [
            ("a".to_owned(), Some("success".to_owned())),
            ("b".to_owned(), None)
        ]
    );
    u.ok(&["scheduler", "--once"]);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(days_in(&u, "d", "success").await, [1, 2]);
    assert!(completed(&u, created.backfill.id).await);
}

// Invariant: the scheduler keeps at most max_active_runs of a backfill
// running, in sort order (latest first with run_backwards); a paused
// backfill starts nothing new; the state is all in the database, so new
// scheduler processes carry on where the last stopped.
#[tokio::test]
async fn scheduler_runs_a_backfill_within_its_cap_pause_and_restarts() {
    let u = Updraft::new().await;
    setup(&u, "b", BASH).await;
    let mut req = request("b", 1, 5);
    req.max_active_runs = 2;
    req.run_backwards = true;
    let created = backfill::create(&u.db.pool, &DEFAULTS, &req, "t", Utc::now())
        .await
        .expect("backfill");
    let id = created.backfill.id;
    assert_eq!(created.backfill.total, 5);
    assert_eq!(days_in(&u, "b", "queued").await, [1, 2, 3, 4, 5]);

    u.ok(&["scheduler", "--once"]);
    assert_eq!(days_in(&u, "b", "running").await, [4, 5]);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(days_in(&u, "b", "running").await, [4, 5], "cap held");

    backfill::pause(&u.db.pool, id, "t").await.expect("pause");
    set_run_state(&u, "b", 5, "success").await;
    set_run_state(&u, "b", 4, "success").await;
    u.ok(&["scheduler", "--once"]);
    assert!(days_in(&u, "b", "running").await.is_empty(), "paused");

    backfill::unpause(&u.db.pool, id, "t")
        .await
        .expect("unpause");
    u.ok(&["scheduler", "--once"]);
    assert_eq!(days_in(&u, "b", "running").await, [2, 3]);
    assert!(!completed(&u, id).await);
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event FROM audit_log WHERE dag_id = 'b' AND event LIKE '%backfill' ORDER BY id",
    )
    .fetch_all(&u.db.pool)
    .await
    .expect("audit");
    assert_eq!(
        events,
        ["create_backfill", "pause_backfill", "unpause_backfill"]
    );
}

// Invariant: Airflow's cancel: queued runs of the backfill fail, running ones
// go on, the backfill completes and the scheduler starts none of its runs.
#[tokio::test]
async fn cancel_fails_unstarted_runs_and_completes_the_backfill() {
    let u = Updraft::new().await;
    setup(&u, "c", BASH).await;
    let mut req = request("c", 1, 3);
    req.max_active_runs = 1;
    let id = backfill::create(&u.db.pool, &DEFAULTS, &req, "t", Utc::now())
        .await
        .expect("backfill")
        .backfill
        .id;
    u.ok(&["scheduler", "--once"]);
    assert_eq!(days_in(&u, "c", "running").await, [1]);
    let after = backfill::cancel(&u.db.pool, id, "t", Utc::now())
        .await
        .expect("cancel");
    assert!(after.completed_at.is_some());
    assert_eq!(days_in(&u, "c", "failed").await, [2, 3]);
    assert_eq!(days_in(&u, "c", "running").await, [1]);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(days_in(&u, "c", "running").await, [1]);
    assert!(matches!(
        backfill::cancel(&u.db.pool, id, "t", Utc::now()).await,
        Err(Error::BackfillCompleted(_))
    ));
}

// Invariant: Airflow's rules: one active backfill per DAG; a DAG without a
// schedule, a range wholly in the future, and depends_on_past with
// run_backwards or without reprocessing are refused, and nothing is written.
#[tokio::test]
async fn airflows_rules_refuse_bad_backfills() {
    let u = Updraft::new().await;
    setup(&u, "d", BASH).await;
    u.write_dag(
        "manual.py",
        &format!(
            "{HEADER}with DAG(dag_id='manual', schedule=None, start_date=datetime(2024, 1, 1)):\n{EMPTY}"
        ),
    );
    u.write_dag(
        "past.py",
        &daily(
            "past",
            "    BashOperator(task_id='a', bash_command='true', depends_on_past=True)\n",
        ),
    );
    u.ok(&["dags", "reserialize"]);
    let now = Utc::now();
    let pool = &u.db.pool;
    backfill::create(pool, &DEFAULTS, &request("d", 1, 2), "t", now)
        .await
        .expect("first");
    assert!(matches!(
        backfill::create(pool, &DEFAULTS, &request("d", 3, 4), "t", now).await,
        Err(Error::BackfillRunning(_))
    ));
    assert!(matches!(
        backfill::dry_run(pool, &DEFAULTS, &request("manual", 1, 2), now).await,
        Err(Error::NoSchedule(_))
    ));
    let mut future = request("d", 1, 2);
    future.from_date = now + chrono::TimeDelta::days(2);
    future.to_date = now + chrono::TimeDelta::days(4);
    assert!(matches!(
        backfill::dry_run(pool, &DEFAULTS, &future, now).await,
        Err(Error::InvalidBackfill(_))
    ));
    let mut past = request("past", 1, 2);
    assert!(matches!(
        backfill::dry_run(pool, &DEFAULTS, &past, now).await,
        Err(Error::InvalidBackfill(_))
    ));
    past.reprocess = Reprocess::Completed;
    past.run_backwards = true;
    assert!(matches!(
        backfill::dry_run(pool, &DEFAULTS, &past, now).await,
        Err(Error::InvalidBackfill(_))
    ));
    past.run_backwards = false;
    assert_eq!(
        backfill::dry_run(pool, &DEFAULTS, &past, now)
            .await
            .expect("allowed")
            .len(),
        2
    );
    let backfills: i64 = sqlx::query_scalar("SELECT count(*) FROM backfill")
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(backfills, 1);
}

// Invariant: `updraft backfill create --dry-run` lists the dates and creates
// nothing; without it the backfill and its queued runs exist, and the
// scheduler completes them.
#[tokio::test]
async fn cli_creates_backfills() {
    let u = Updraft::new().await;
    setup(&u, "d", EMPTY).await;
    let args = [
        "backfill",
        "create",
        "--dag-id",
        "d",
        "--from-date",
        "2024-01-01",
        "--to-date",
        "2024-01-03",
        "--dag-run-conf",
        r#"{"k": 1}"#,
        "-o",
        "json",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = u.json(&dry);
    assert_eq!(out["runs"], 3, "{out}");
    assert_eq!(
        out["planned"][0]["logical_date"],
        "2024-01-01T00:00:00+00:00"
    );
    assert!(runs(&u, "d").await.is_empty());
    let text = u.ok(&dry[..dry.len() - 3]
        .iter()
        .copied()
        .chain(["--dry-run"])
        .collect::<Vec<_>>());
    assert!(text.contains("- 2024-01-03T00:00:00+00:00"), "{text}");

    let out = u.json(&args);
    assert!(out["backfill_id"].is_i64(), "{out}");
    assert_eq!(days_in(&u, "d", "queued").await, [1, 2, 3]);
    let conf: Value =
        sqlx::query_scalar("SELECT conf FROM dag_run WHERE dag_id = 'd' ORDER BY id LIMIT 1")
            .fetch_one(&u.db.pool)
            .await
            .expect("conf");
    assert_eq!(conf, json!({"k": 1}));
    // A second one while the first is active is refused.
    let again = u.run(&args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("backfill in progress"));
    u.ok(&["scheduler", "--once"]);
    u.ok(&["scheduler", "--once"]);
    assert_eq!(days_in(&u, "d", "success").await, [1, 2, 3]);
}
