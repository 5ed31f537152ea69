//! Live pages in a real headless Chromium (support::browser), with the real
//! scheduler, worker and webserver: the task instance page's log tail grows
//! while the task runs and says when the try ends, and the grid refreshes a
//! cell to success, both without a reload.

mod support;

use std::time::{Duration, Instant};

use support::browser::{Scenario, Server};
use support::ti::Run;
use support::{Running, Updraft};

const DAG: &str = r#"
import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(dag_id="live", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False):
    BashOperator(task_id="ticker", bash_command="for i in 1 2 3 4 5 6; do echo tick-$i; sleep 1; done") >> \
        BashOperator(task_id="after", bash_command="sleep 6; echo after-done")
"#;
const USER: (&str, &str) = ("watcher", "watcher-pw-1");

// Invariant: an open task instance page follows its running try's log to
// the end, and an open grid shows a task's success, without reloading.
#[tokio::test]
async fn log_tail_and_grid_refresh_live() {
    let test = "log_tail_and_grid_refresh_live";
    let u = Updraft::new().await;
    u.write_dag("live.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "live"]);
    u.ok(&[
        "users", "create", "-u", USER.0, "-p", USER.1, "-r", "Viewer",
    ]);
    u.ok(&["dags", "trigger", "live", "--run-id", "r"]);
    let _procs = Running::start(&u, 2, 30);
    let server = Server::start(u.command(&["webserver", "--host", "127.0.0.1", "--port", "0"]));
    let run = Run {
        dag_id: "live",
        run_id: "r",
    };
    // Open the page once the ticker is under way, long before it ends.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !run
        .log(&u.db.pool, "ticker", false)
        .await
        .contains("tick-1")
    {
        assert!(Instant::now() < deadline, "the ticker never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let json = Scenario {
        script: "live_refresh.mjs",
        base_url: &server.base_url,
        user: USER.0,
        password: USER.1,
        dag_id: "live",
        env: &[
            ("UPDRAFT_E2E_RUN_ID", "r"),
            ("UPDRAFT_E2E_TASK_ID", "ticker"),
            ("UPDRAFT_E2E_LOG_TEXT", "tick-6"),
            ("UPDRAFT_E2E_NEXT_TASK_ID", "after"),
        ],
    }
    .pass(test);
    let checks = &json["checks"];
    assert_eq!(checks["tail_reached_last_line"], true, "{json}");
    assert_eq!(checks["tail_status"], "This try has ended.", "{json}");
    assert_eq!(checks["tail_no_reload"], true, "{json}");
    assert_eq!(checks["grid_state_after"], "success", "{json}");
    assert_eq!(checks["grid_no_reload"], true, "{json}");
    assert_eq!(
        run.state(&u.db.pool, "after").await.as_deref(),
        Some("success")
    );
}
