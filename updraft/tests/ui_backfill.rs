//! Backfills in a real headless Chromium (ui/e2e/backfill.mjs, through
//! `support::browser`) against `updraft webserver`, with a real scheduler
//! and worker running the backfill: an Admin backfills 5 days of a daily
//! DAG after a dry run and sees them complete, then starts a second
//! backfill and cancels it. Screenshots are kept under
//! `$UPDRAFT_SCREENSHOTS_DIR/<test name>/` when that is set.

mod support;

use chrono::{Duration, Utc};
use support::browser::{Scenario, Server, free_port};
use support::{Running, Updraft};

const DAG_ID: &str = "ui_backfill";
const SECOND: &str = "ui_backfill_waits";
const ADMIN: (&str, &str) = ("ada", "admin-pw-1");

/// A daily DAG whose own schedule ended long ago: only the backfill adds runs.
fn dag(dag_id: &str) -> String {
    format!(
        "from datetime import datetime\n\
         from airflow import DAG\n\
         from airflow.operators.bash import BashOperator\n\
         from airflow.operators.empty import EmptyOperator\n\n\
         with DAG(dag_id={dag_id:?}, schedule='@daily', start_date=datetime(2026, 1, 1),\n\
         \x20        end_date=datetime(2026, 1, 2), catchup=False):\n\
         \x20   EmptyOperator(task_id='start') >> BashOperator(task_id='work', bash_command='echo {{{{ ds }}}}')\n"
    )
}

// Invariant: what the UI shows of a backfill is what the database holds:
// the dry run's count is the number of runs created, the 5 runs the
// scheduler ran succeeded, and the cancelled backfill's waiting runs failed
// with the backfill completed, each action audited under the Admin's name.
#[tokio::test]
async fn admin_backfills_five_days_and_cancels_a_second_backfill() {
    let test = "admin_backfills_five_days_and_cancels_a_second_backfill";
    let u = Updraft::new().await;
    u.write_dag("ui_backfill.py", &dag(DAG_ID));
    u.write_dag("ui_backfill_waits.py", &dag(SECOND));
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", DAG_ID]);
    u.ok(&["dags", "pause", SECOND]);
    u.ok(&[
        "users",
        "create",
        "--username",
        ADMIN.0,
        "--password",
        ADMIN.1,
        "--role",
        "Admin",
    ]);
    let today = Utc::now().date_naive();
    let from = (today - Duration::days(5)).to_string();
    let to = (today - Duration::days(1)).to_string();
    let _running = Running::start(&u, 4, 30);
    let port = free_port().to_string();
    let server = Server::start(u.command(&["webserver", "--host", "127.0.0.1", "--port", &port]));
    let json = Scenario {
        script: "backfill.mjs",
        base_url: &server.base_url,
        user: ADMIN.0,
        password: ADMIN.1,
        dag_id: DAG_ID,
        env: &[
            ("UPDRAFT_E2E_FROM", &from),
            ("UPDRAFT_E2E_TO", &to),
            ("UPDRAFT_E2E_SECOND_DAG", SECOND),
        ],
    }
    .pass(test);
    let checks = &json["checks"];
    assert_eq!(checks["dry_run"], "5 runs will be created");
    assert_eq!(checks["dry_dates"], 5);
    assert_eq!(checks["after_create"], format!("/dags/{DAG_ID}/backfills"));
    assert_eq!(checks["first_progress"], "5/5");
    assert_eq!(checks["first"]["succeeded"], "5");
    assert_eq!(checks["banner_after_completion"], 0);
    assert_eq!(checks["grid_success_columns"], 5);
    assert_eq!(checks["second_dry_run"], "5 runs will be created");
    assert_eq!(checks["banner_after_cancel"], 0);

    let states = |dag_id: &'static str| {
        sqlx::query_as::<_, (String, String, Option<i64>)>(
            "SELECT state, run_type, backfill_id FROM dag_run
              WHERE dag_id = $1 AND run_type = 'backfill'",
        )
        .bind(dag_id)
        .fetch_all(&u.db.pool)
    };
    let first = states(DAG_ID).await.expect("runs");
    assert_eq!(first.len(), 5, "{first:?}");
    assert!(
        first
            .iter()
            .all(|(s, t, b)| s == "success" && t == "backfill" && b.is_some()),
        "{first:?}"
    );
    let second = states(SECOND).await.expect("runs");
    assert_eq!(second.len(), 5, "{second:?}");
    assert!(second.iter().all(|(s, _, _)| s == "failed"), "{second:?}");
    let active: i64 =
        sqlx::query_scalar("SELECT count(*) FROM backfill WHERE completed_at IS NULL")
            .fetch_one(&u.db.pool)
            .await
            .expect("backfills");
    assert_eq!(active, 0);
    let audited: Vec<(String, String)> = sqlx::query_as(
        "SELECT event, owner FROM audit_log WHERE event LIKE '%backfill' ORDER BY id",
    )
    .fetch_all(&u.db.pool)
    .await
    .expect("audit");
    let admin = ADMIN.0.to_owned();
    assert_eq!(
        audited,
        [
            ("create_backfill".to_owned(), admin.clone()),
            ("create_backfill".to_owned(), admin.clone()),
            ("cancel_backfill".to_owned(), admin),
        ]
    );
}
