//! The official `apache-airflow-client` 3.1 from PyPI (installed by
//! `scripts/api-clients.sh` into a venv outside the clone) against a real
//! `updraft standalone`: list DAGs, unpause, trigger with conf, poll the run
//! to success, list its task instances, read a log, read an XCom, clear a
//! task and see it run again, set and get a variable, create a backfill and
//! see its runs succeed, answer a pending approval and see the downstream
//! task run. The script is
//! `tests/api_clients/client_v3.py`; it prints one JSON line.

mod support;

use serde_json::Value;
use support::Updraft;
use support::api_clients;

const DAG: &str = "\
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG(dag_id='api_client', schedule=None, start_date=datetime(2026, 1, 1)):
    BashOperator(task_id='say', bash_command='echo {{ dag_run.conf[\"greeting\"] }}')
";

/// A daily DAG to backfill, and an approval gate in front of a Bash task.
const MORE_DAGS: &str = "\
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator

with DAG(dag_id='api_client_daily', schedule='@daily', start_date=datetime(2026, 1, 1), catchup=False):
    BashOperator(task_id='day', bash_command='echo {{ ds }}')

with DAG(dag_id='api_client_hitl', schedule=None, start_date=datetime(2026, 1, 1)):
    ApprovalOperator(task_id='gate', subject='Ship it?') >> BashOperator(task_id='after', bash_command='echo shipped')
";

// Invariant: scripts written for Airflow 3.1's official client work unchanged against Updraft.
#[tokio::test]
async fn official_v3_client_drives_a_run() {
    let python = api_clients::client_python("v3");
    let u = Updraft::new().await;
    u.write_dag("api_client.py", DAG);
    u.write_dag("api_client_more.py", MORE_DAGS);
    let server =
        api_clients::standalone_with(&u, &["api_client", "api_client_daily", "api_client_hitl"])
            .await;
    let checks = &api_clients::run_script(
        &python,
        "client_v3.py",
        &server,
        &["--dag-id", "api_client", "--task-id", "say"],
    );
    assert_eq!(checks["run_state"], "success");
    assert_eq!(checks["xcom"], "hello-from-client");
    assert_eq!(checks["try_after_clear"], 2);
    assert_eq!(checks["variable"], "v-1");
    // What the client did is in the database, not only in its answers.
    let conf: Value =
        sqlx::query_scalar("SELECT conf FROM dag_run WHERE run_id = 'api_client_run'")
            .fetch_one(&u.db.pool)
            .await
            .expect("run row");
    assert_eq!(conf["greeting"], "hello-from-client");
    let var: String = sqlx::query_scalar("SELECT val FROM variable WHERE key = 'api_client_var'")
        .fetch_one(&u.db.pool)
        .await
        .expect("variable row");
    assert_eq!(var, "v-1");
    assert_eq!(
        checks["backfill_runs"],
        serde_json::json!(["success", "success"])
    );
    assert_eq!(checks["hitl_answered"], serde_json::json!(["Approve"]));
    assert_eq!(checks["after_state"], "success");
    let backfill_runs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM backfill_dag_run bdr JOIN dag_run r ON r.id = bdr.dag_run_id
          WHERE r.dag_id = 'api_client_daily' AND r.state = 'success'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("backfill rows");
    assert_eq!(backfill_runs, 2);
    let answered_by: Value = sqlx::query_scalar(
        "SELECT h.responded_by FROM hitl_detail h JOIN task_instance t ON t.id = h.ti_id
          WHERE t.dag_id = 'api_client_hitl'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("hitl row");
    assert_eq!(answered_by["name"], "robot");
}
