//! The DAG pages in a real browser (headless Chromium driven by
//! ui/e2e/dag_grid.mjs, through support::browser) against
//! `updraft webserver`: after `dags test` ran a DAG to success, a signed-in
//! Viewer opens its grid from the DAG list, sees every cell green, collapses
//! a task group, opens a task's log and the code tab. Screenshots are kept
//! in UPDRAFT_SCREENSHOTS_DIR/<test> when that is set.

mod support;

use support::Updraft;
use support::browser::{Scenario, Server, free_port};

const DAG_ID: &str = "ui_grid";
const DAG: &str = "\
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.utils.task_group import TaskGroup

with DAG(dag_id='ui_grid', schedule=None, start_date=datetime(2026, 1, 1)):
    start = EmptyOperator(task_id='start')
    with TaskGroup('work') as work:
        say = BashOperator(task_id='say', bash_command='echo hello from the grid test')
        EmptyOperator(task_id='after') << say
    start >> work
";
const VIEWER: (&str, &str) = ("viewer", "viewer-pw-1");

// Invariant: what the database says ran (success) is what a person sees in
// the grid (green cells) and in the task's log.
#[tokio::test]
async fn grid_shows_a_succeeded_run_and_its_log() {
    let test = "grid_shows_a_succeeded_run_and_its_log";
    let u = Updraft::new().await;
    u.write_dag("ui_grid.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "test", DAG_ID, "2026-02-03"]);
    u.ok(&[
        "users",
        "create",
        "--username",
        VIEWER.0,
        "--password",
        VIEWER.1,
        "--role",
        "Viewer",
    ]);
    let port = free_port().to_string();
    let server = Server::start(u.command(&["webserver", "--host", "127.0.0.1", "--port", &port]));
    let json = Scenario {
        script: "dag_grid.mjs",
        base_url: &server.base_url,
        user: VIEWER.0,
        password: VIEWER.1,
        dag_id: DAG_ID,
        env: &[
            ("UPDRAFT_E2E_TASK_ID", "work.say"),
            ("UPDRAFT_E2E_LOG_TEXT", "hello from the grid test"),
        ],
    }
    .pass(test);
    let cells = json["checks"]["cells"].as_array().expect("cells");
    let tasks: Vec<&str> = cells.iter().filter_map(|c| c["task"].as_str()).collect();
    assert_eq!(tasks, ["start", "work.say", "work.after"], "{json}");
    assert_eq!(json["checks"]["group_collapsed"], true);
    assert_eq!(json["checks"]["ti_state"], "success");
    assert_eq!(json["checks"]["log_has_text"], true);
    assert_eq!(json["screenshots"].as_array().map(Vec::len), Some(4));
}
