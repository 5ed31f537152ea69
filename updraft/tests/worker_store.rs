//! The worker's store modules against a real PostgreSQL (workers, task_logs,
//! xcom, rendered_fields), and secret masking seen end to end.

mod support;

use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::types::Uuid;
use support::Updraft;
use updraft_core::store::task_instances::{self, TiRef};
use updraft_core::store::task_logs;
use updraft_core::store::workers::{self, NewWorker};
use updraft_core::store::xcom::{self, XComRef};
use updraft_testkit::TestDb;

async fn ti_row(pool: &PgPool) -> Uuid {
    let id = Uuid::new_v4();
    for sql in [
        "INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, schedule)
         VALUES ('d', 'f.py', 'f.py', false, '{}')",
        "INSERT INTO dag_run (dag_id, run_id, run_type, state) VALUES ('d', 'r', 'manual', 'running')",
    ] {
        sqlx::query(sql).execute(pool).await.expect(sql);
    }
    sqlx::query("INSERT INTO task_instance (id, dag_id, run_id, task_id, try_number) VALUES ($1, 'd', 'r', 't', 1)")
        .bind(id)
        .execute(pool)
        .await
        .expect("task instance");
    id
}

// A worker row goes running → stopping → stopped and heartbeats only while running.
#[tokio::test]
async fn worker_lifecycle() {
    let db = TestDb::new().await.expect("db");
    let mut c = db.pool.acquire().await.expect("conn");
    let w = NewWorker {
        id: Uuid::new_v4(),
        hostname: "h".into(),
        pid: 7,
        queues: vec!["default".into(), "q2".into()],
        concurrency: 4,
    };
    workers::register(&mut c, &w).await.expect("register");
    assert!(workers::heartbeat(&mut c, w.id).await.expect("beat"));
    assert!(
        workers::mark_stopping(&mut c, w.id)
            .await
            .expect("stopping")
    );
    assert!(!workers::heartbeat(&mut c, w.id).await.expect("beat"));
    assert!(workers::mark_stopped(&mut c, w.id).await.expect("stopped"));
    assert!(
        !workers::mark_stopped(&mut c, w.id)
            .await
            .expect("stopped twice")
    );
    assert_eq!(
        workers::state(&mut c, w.id)
            .await
            .expect("state")
            .as_deref(),
        Some("stopped")
    );
}

// XCom set is an upsert by key; a log's chunks read back in order, and a
// repeated chunk number does not duplicate lines.
#[tokio::test]
async fn xcom_upsert_and_log_chunks() {
    let db = TestDb::new().await.expect("db");
    let id = ti_row(&db.pool).await;
    let mut c = db.pool.acquire().await.expect("conn");
    let at = XComRef {
        dag_id: "d",
        run_id: "r",
        task_id: "t",
        map_index: -1,
        key: "return_value",
    };
    assert_eq!(xcom::get(&mut c, &at).await.expect("get"), None);
    xcom::set(&mut c, id, &at, &json!(1)).await.expect("set");
    xcom::set(&mut c, id, &at, &json!({"a": [1]}))
        .await
        .expect("set again");
    assert_eq!(
        xcom::get(&mut c, &at).await.expect("get"),
        Some(json!({"a": [1]}))
    );
    xcom::set(&mut c, id, &at, &Value::Null)
        .await
        .expect("set null");
    assert_eq!(
        xcom::get(&mut c, &at).await.expect("get"),
        Some(Value::Null)
    );

    task_logs::append(&mut c, id, 1, 1, "b\n")
        .await
        .expect("append");
    task_logs::append(&mut c, id, 1, 0, "a\n")
        .await
        .expect("append");
    task_logs::append(&mut c, id, 1, 0, "again\n")
        .await
        .expect("append");
    task_logs::append(&mut c, id, 2, 0, "other try\n")
        .await
        .expect("append");
    assert_eq!(
        task_logs::read(&mut c, id, 1).await.expect("read"),
        "a\nb\n"
    );
    let r = TiRef {
        dag_id: "d",
        run_id: "r",
        task_id: "t",
        map_index: -1,
    };
    assert_eq!(
        task_instances::locate(&mut c, &r).await.expect("locate"),
        Some((id, 1))
    );
}

const DAG: &str = "\
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(dag_id='m', schedule=None, start_date=datetime(2026, 1, 1)):
    BashOperator(task_id='leak', bash_command='echo pw={{ var.value.db_password }} conn={{ conn.c1.password }}')
";

// Secrets read by templates are masked in the task log and the stored
// rendered fields (the XCom keeps the raw value, as in Airflow).
#[tokio::test]
async fn secrets_are_masked_in_logs_and_rendered_fields() {
    let u = Updraft::new().await;
    u.write_dag("m.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "trigger", "m", "--run-id", "r"]);
    let p = &u.db.pool;
    for sql in [
        "INSERT INTO variable (key, val) VALUES ('db_password', 'hunter2')",
        "INSERT INTO connection (conn_id, conn_type, password) VALUES ('c1', 'http', convert_to('s3cr3t', 'UTF8'))",
        "INSERT INTO task_instance (id, dag_id, run_id, task_id, state, try_number)
         VALUES (gen_random_uuid(), 'm', 'r', 'leak', 'queued', 1)
         ON CONFLICT (dag_id, run_id, task_id, map_index)
         DO UPDATE SET state = 'queued', try_number = task_instance.try_number + 1",
    ] {
        sqlx::query(sql).execute(p).await.expect(sql);
    }
    u.ok(&["worker", "--once"]);
    let (state, rendered): (Option<String>, Option<Value>) = sqlx::query_as(
        "SELECT state, rendered_fields FROM task_instance WHERE dag_id = 'm' AND task_id = 'leak'",
    )
    .fetch_one(p)
    .await
    .expect("ti");
    assert_eq!(state.as_deref(), Some("success"));
    let cmd = rendered
        .as_ref()
        .and_then(|r| r.get("bash_command"))
        .cloned();
    assert_eq!(cmd, Some(json!("echo pw=*** conn=***")));
    let log = u.ok(&["tasks", "logs", "m", "r", "leak"]);
    assert!(log.contains("INFO - pw=*** conn=***"), "{log}");
    assert!(!log.contains("hunter2") && !log.contains("s3cr3t"), "{log}");
}

// Invariant: a DAG's user_defined_macros reach its templates: values
// natively, functions (and user_defined_filters) called in the Python task
// runner; a function that raises fails the task with its error.
#[tokio::test]
async fn user_defined_macros_and_filters_render() {
    let u = support::Updraft::new().await;
    u.write_dag(
        "macros.py",
        "from datetime import datetime\nfrom airflow import DAG\n\
         from airflow.operators.bash import BashOperator\n\n\
         def shout(s):\n    return s.upper()\n\n\
         def boom(s):\n    raise ValueError('no ' + s)\n\n\
         def twice(s, sep='-'):\n    return s + sep + s\n\n\
         with DAG(dag_id='macros', schedule=None, start_date=datetime(2026, 1, 1),\n\
         \x20        user_defined_macros={'project': 'acme', 'shout': shout, 'boom': boom},\n\
         \x20        user_defined_filters={'twice': twice}):\n\
         \x20   BashOperator(task_id='value', bash_command='echo {{ project }}')\n\
         \x20   BashOperator(task_id='function', bash_command='echo {{ shout(project) }} {{ project | twice(\"+\") }}')\n\
         \x20   BashOperator(task_id='raises', bash_command='echo {{ boom(project) }}')\n",
    );
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "trigger", "macros", "--run-id", "m1"]);
    let at = support::ti::Run {
        dag_id: "macros",
        run_id: "m1",
    };
    let p = &u.db.pool;
    for task in ["value", "function", "raises"] {
        at.queue(p, task, 0).await;
    }
    u.ok(&["worker", "--once"]);
    assert_eq!(at.state(p, "value").await.as_deref(), Some("success"));
    assert_eq!(
        at.xcom(p, "value", "return_value").await,
        Some(serde_json::json!("acme"))
    );
    let log = at.log(p, "function", true).await;
    assert_eq!(
        at.state(p, "function").await.as_deref(),
        Some("success"),
        "{log}"
    );
    assert_eq!(
        at.xcom(p, "function", "return_value").await,
        Some(serde_json::json!("ACME acme+acme"))
    );
    assert_eq!(at.state(p, "raises").await.as_deref(), Some("failed"));
    let log = at.log(p, "raises", true).await;
    assert!(log.contains("no acme"), "{log}");
}
