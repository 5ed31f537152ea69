//! The action pages in a real headless Chromium against `updraft
//! webserver` (through `support::browser`): a User triggers a
//! DAG from its params form. Screenshots are kept under
//! `$UPDRAFT_SCREENSHOTS_DIR/<test name>/` when that is set.

mod support;

use serde_json::Value;
use support::Updraft;
use support::browser::{Scenario, Server, free_port};

const DAG_ID: &str = "ui_trigger";
const DAG: &str = "\
from datetime import datetime
from airflow import DAG
from airflow.models.param import Param
from airflow.operators.empty import EmptyOperator

with DAG(dag_id='ui_trigger', schedule=None, start_date=datetime(2026, 1, 1),
         params={'count': Param(3, type='integer', minimum=1, description='How many'),
                 'color': Param('red', enum=['red', 'blue'])}):
    EmptyOperator(task_id='only')
";
const USER: (&str, &str) = ("ursula", "user-pw-1");

// Invariant: a User fills the params form, sees a value against the schema
// refused next to its field, corrects it and the run is created with the
// params as its conf (checked in the database), its trigger audited.
#[tokio::test]
async fn webserver_user_triggers_with_params() {
    let test = "webserver_user_triggers_with_params";
    let u = Updraft::new().await;
    u.write_dag("ui_trigger.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&[
        "users",
        "create",
        "--username",
        USER.0,
        "--password",
        USER.1,
        "--role",
        "User",
    ]);
    let port = free_port().to_string();
    let server = Server::start(u.command(&["webserver", "--host", "127.0.0.1", "--port", &port]));
    let json = Scenario {
        script: "trigger_params.mjs",
        base_url: &server.base_url,
        user: USER.0,
        password: USER.1,
        dag_id: DAG_ID,
        env: &[],
    }
    .pass(test);
    let checks = &json["checks"];
    assert_eq!(checks["count_default"], "3");
    assert_eq!(checks["bad_status"], 400);
    assert_eq!(checks["field_error"], "0 is less than the minimum of 1");
    assert_eq!(checks["redirected_to"], format!("/dags/{DAG_ID}/grid"));
    let runs: Vec<(String, Value, String)> =
        sqlx::query_as("SELECT run_id, conf, triggered_by FROM dag_run WHERE dag_id = $1")
            .bind(DAG_ID)
            .fetch_all(&u.db.pool)
            .await
            .expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].1, serde_json::json!({"count": 5, "color": "blue"}));
    assert_eq!(runs[0].2, "ui");
    assert!(
        checks["audit_row"]
            .as_str()
            .is_some_and(|r| r.contains(&runs[0].0) && r.contains(USER.0)),
        "{checks}"
    );
}
