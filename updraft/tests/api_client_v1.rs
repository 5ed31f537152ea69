//! The official `apache-airflow-client` 2.10 from PyPI (installed by
//! `scripts/api-clients.sh install v2` into a venv outside the clone)
//! against a real `updraft standalone`'s `/api/v1` with basic auth: list
//! DAGs, unpause, trigger with conf, poll the run to success, list its task
//! instances, read a log, read an XCom, clear a task and see it run again,
//! set and get a variable. The script is `tests/api_clients/client_v2.py`;
//! it prints one JSON line.

mod support;

use serde_json::Value;
use support::Updraft;
use support::api_clients;

const DAG: &str = "\
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG(dag_id='api_client_v1', schedule=None, start_date=datetime(2026, 1, 1)):
    BashOperator(task_id='say', bash_command='echo {{ dag_run.conf[\"greeting\"] }}')
";

const CRON_DAG: &str = "\
from datetime import datetime
from airflow.sdk import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id='api_client_v1_cron', schedule='0 3 * * *', start_date=datetime(2026, 1, 1), catchup=False):
    EmptyOperator(task_id='noop')
";

// Invariant: scripts written for Airflow 2.10's official client work unchanged against Updraft's /api/v1.
#[tokio::test]
async fn official_v2_client_drives_a_run_over_api_v1() {
    let python = api_clients::client_python("v2");
    let u = Updraft::new().await;
    u.write_dag("api_client_v1.py", DAG);
    u.write_dag("api_client_v1_cron.py", CRON_DAG);
    let server = api_clients::standalone_with(&u, &["api_client_v1", "api_client_v1_cron"]).await;
    let checks = &api_clients::run_script(
        &python,
        "client_v2.py",
        &server,
        &[
            "--dag-id",
            "api_client_v1",
            "--task-id",
            "say",
            "--cron-dag-id",
            "api_client_v1_cron",
        ],
    );
    assert_eq!(checks["run_state"], "success");
    assert_eq!(checks["xcom"], "hello-from-v1");
    assert_eq!(checks["try_after_clear"], 2);
    assert_eq!(checks["variable"], "v1-value");
    assert_eq!(checks["external_trigger"], true);
    assert_eq!(
        checks["cron_schedule"],
        serde_json::json!({"type": "CronExpression", "value": "0 3 * * *"})
    );
    assert_eq!(checks["connection"]["host"], "db");
    assert!(
        checks["pools"]
            .as_array()
            .is_some_and(|p| p.contains(&serde_json::json!(["api_v1_pool", 2]))),
        "{checks}"
    );
    assert_eq!(checks["import_errors"], 0);
    assert_eq!(checks["metadatabase"], "healthy");
    // What the client did is in the database, not only in its answers.
    let conf: Value =
        sqlx::query_scalar("SELECT conf FROM dag_run WHERE run_id = 'api_client_v1_run'")
            .fetch_one(&u.db.pool)
            .await
            .expect("run row");
    assert_eq!(conf["greeting"], "hello-from-v1");
    let var: String =
        sqlx::query_scalar("SELECT val FROM variable WHERE key = 'api_client_v1_var'")
            .fetch_one(&u.db.pool)
            .await
            .expect("variable row");
    assert_eq!(var, "v1-value");
}
