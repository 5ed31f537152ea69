//! The graph, run and browse pages in a real browser (headless Chromium
//! driven by ui/e2e/graph.mjs, through support::browser) against
//! `updraft webserver`: after `dags test` ran a DAG to success, a signed-in
//! Viewer opens its graph, finds the nodes in layers and green, clicks a
//! node to its task instance, opens the run's page, the durations chart and
//! both browse lists. Screenshots are kept in
//! UPDRAFT_SCREENSHOTS_DIR/<test> when that is set.

mod support;

use support::Updraft;
use support::browser::{Scenario, Server, free_port};

const DAG_ID: &str = "ui_graph";
const DAG: &str = "\
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.utils.edgemodifier import Label
from airflow.utils.task_group import TaskGroup

with DAG(dag_id='ui_graph', schedule=None, start_date=datetime(2026, 1, 1)):
    start = EmptyOperator(task_id='start')
    with TaskGroup('work') as work:
        say = BashOperator(task_id='say', bash_command='echo graph')
        EmptyOperator(task_id='after') << say
    end = EmptyOperator(task_id='end')
    start >> Label('go') >> work >> end
";
const VIEWER: (&str, &str) = ("viewer", "viewer-pw-1");

// Invariant: the graph a person sees follows the DAG's edges left to right
// and shows the states the database holds (success, green), and its nodes,
// the run page and the browse lists lead to the same task instances.
#[tokio::test]
async fn graph_run_and_browse_pages_in_a_browser() {
    let test = "graph_run_and_browse_pages_in_a_browser";
    let u = Updraft::new().await;
    u.write_dag("ui_graph.py", DAG);
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
        script: "graph.mjs",
        base_url: &server.base_url,
        user: VIEWER.0,
        password: VIEWER.1,
        dag_id: DAG_ID,
        env: &[
            (
                "UPDRAFT_E2E_EDGES",
                r#"[["start","work.say"],["work.say","work.after"],["work.after","end"]]"#,
            ),
            ("UPDRAFT_E2E_TASK_ID", "work.say"),
        ],
    }
    .pass(test);
    let checks = &json["checks"];
    let nodes: Vec<&str> = checks["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["task"].as_str())
        .collect();
    assert_eq!(nodes.len(), 4, "{json}");
    for t in ["start", "work.say", "work.after", "end"] {
        assert!(nodes.contains(&t), "{t} missing: {json}");
    }
    assert_eq!(checks["layered"], true);
    assert_eq!(checks["edge_labels"], serde_json::json!(["go"]), "{json}");
    assert_eq!(checks["groups"], serde_json::json!(["work"]));
    assert_eq!(checks["clicked_ti"], "work.say");
    assert_eq!(checks["ti_state"], "success");
    assert_eq!(checks["run_state"], "success");
    assert_eq!(checks["run_tis"], 4);
    assert_eq!(checks["duration_bar"]["state"], "success");
    assert_eq!(checks["duration_bar"]["fill"], "rgb(0, 128, 0)");
    assert_eq!(checks["browse_runs"], serde_json::json!([DAG_ID]));
    assert_eq!(checks["browse_tis"], serde_json::json!(["work.say"]));
    assert_eq!(json["screenshots"].as_array().map(Vec::len), Some(5));
}
