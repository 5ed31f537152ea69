//! Dynamic task mapping through the real binary and a real Postgres: the
//! scheduler expands a mapped task into one task instance per element (of a
//! literal or an upstream XCom), the worker runs each with its own element,
//! and a downstream task pulls the results as one list.

mod support;

use support::{Running, Updraft};

const LITERAL: &str = r#"
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(dag_id="lit", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    echo = BashOperator.partial(task_id="echo").expand(
        bash_command=["echo one", "echo {{ ti.map_index }}-two", "echo three"]
    )
    after = BashOperator(
        task_id="after",
        bash_command="echo {{ ti.xcom_pull(task_ids='echo') | join(',') }}",
    )
    echo >> after
"#;

const FROM_XCOM: &str = r#"
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(dag_id="fromx", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    src = BashOperator(task_id="src", bash_command="true")
    BashOperator.partial(task_id="m").expand(bash_command=src.output)
"#;

async fn rows(u: &Updraft, sql: &'static str) -> Vec<(String, i32, Option<String>)> {
    sqlx::query_as(sql).fetch_all(&u.db.pool).await.expect(sql)
}

// Invariant: a literal expansion runs one task instance per element, each
// rendering its own element, and the downstream pulls all results in order.
#[tokio::test]
async fn literal_expansion_runs_each_element_and_feeds_a_reduce() {
    let u = Updraft::new().await;
    u.write_dag("lit.py", LITERAL);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "lit"]);
    u.ok(&["dags", "trigger", "lit", "--run-id", "r"]);
    let running = Running::start(&u, 4, 30);
    let state = support::run_end(&u.db.pool, "r").await;
    drop(running);
    let tis = rows(
        &u,
        "SELECT task_id, map_index, state FROM task_instance ORDER BY task_id, map_index",
    )
    .await;
    let ok = |t: &str, i: i32| (t.to_owned(), i, Some("success".to_owned()));
    assert_eq!(
        tis,
        vec![ok("after", -1), ok("echo", 0), ok("echo", 1), ok("echo", 2)]
    );
    assert_eq!(state, "success");
    let xcoms: Vec<(String, i32, serde_json::Value)> = sqlx::query_as(
        "SELECT task_id, map_index, value FROM xcom WHERE key = 'return_value'
          ORDER BY task_id, map_index",
    )
    .fetch_all(&u.db.pool)
    .await
    .expect("xcoms");
    let x = |t: &str, i: i32, v: &str| (t.to_owned(), i, serde_json::json!(v));
    assert_eq!(
        xcoms,
        vec![
            x("after", -1, "one,1-two,three"),
            x("echo", 0, "one"),
            x("echo", 1, "1-two"),
            x("echo", 2, "three"),
        ]
    );
}

/// Ends `src` as a worker would, with `value` as its return value.
async fn src_pushed(u: &Updraft, value: serde_json::Value) {
    sqlx::query(
        "UPDATE task_instance SET state = 'success', try_number = 1, start_date = now(),
                                  end_date = now() WHERE task_id = 'src'",
    )
    .execute(&u.db.pool)
    .await
    .expect("src success");
    sqlx::query(
        "INSERT INTO xcom (ti_id, dag_id, run_id, task_id, map_index, key, value)
         SELECT id, dag_id, run_id, task_id, map_index, 'return_value', $1
           FROM task_instance WHERE task_id = 'src'",
    )
    .bind(value)
    .execute(&u.db.pool)
    .await
    .expect("xcom");
}

// Invariant: expanding over an upstream XCom makes one task instance per
// item; an empty list skips the task; a value that is not a list or dict
// fails it without running.
#[tokio::test]
async fn xcom_expansion_lengths_empty_and_unmappable() {
    for (value, expected) in [
        (
            serde_json::json!(["echo a", "echo b"]),
            vec![(0, Some("queued")), (1, Some("queued"))],
        ),
        (serde_json::json!([]), vec![(-1, Some("skipped"))]),
        (serde_json::json!("echo a"), vec![(-1, Some("failed"))]),
    ] {
        let u = Updraft::new().await;
        u.write_dag("fromx.py", FROM_XCOM);
        u.ok(&["dags", "reserialize"]);
        u.ok(&["dags", "unpause", "fromx"]);
        u.ok(&["dags", "trigger", "fromx", "--run-id", "r"]);
        u.ok(&["scheduler", "--once"]);
        let before = rows(
            &u,
            "SELECT task_id, map_index, state FROM task_instance WHERE task_id = 'm'",
        )
        .await;
        assert_eq!(before, vec![("m".to_owned(), -1, None)], "waits for src");
        src_pushed(&u, value.clone()).await;
        u.ok(&["scheduler", "--once"]);
        let got: Vec<(i32, Option<String>)> = rows(
            &u,
            "SELECT task_id, map_index, state FROM task_instance WHERE task_id = 'm'
              ORDER BY map_index",
        )
        .await
        .into_iter()
        .map(|(_, i, s)| (i, s))
        .collect();
        let expected: Vec<(i32, Option<String>)> = expected
            .iter()
            .map(|(i, s)| (*i, s.map(str::to_owned)))
            .collect();
        assert_eq!(got, expected, "mapping over {value}");
    }
}

const GROUPS: &str = r#"
from datetime import datetime
from airflow import DAG
from airflow.decorators import task, task_group

with DAG(dag_id="groups", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    @task
    def files():
        return ["a.csv", "bb.csv", "ccc.txt"]

    @task
    def size(p):
        return len(p)

    @task
    def double(n):
        return n * 2

    @task_group
    def per_file(path):
        double(size(path))

    per_file.expand(path=files())

    @task_group
    def per_word(word):
        size.override(task_id="word_size")(word)

    per_word.expand(word=["x", "yy"])
"#;

// Invariant: a mapped task group runs each of its tasks once per element,
// each task instance seeing its own element of the group's argument and its
// fellow group task's result for the same map index.
#[tokio::test]
async fn mapped_task_groups_run_per_element() {
    let u = Updraft::new().await;
    u.write_dag("groups.py", GROUPS);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "groups"]);
    u.ok(&["dags", "trigger", "groups", "--run-id", "g"]);
    let running = Running::start(&u, 4, 30);
    let state = support::run_end(&u.db.pool, "g").await;
    drop(running);
    let xcoms: Vec<(String, i32, serde_json::Value)> = sqlx::query_as(
        "SELECT task_id, map_index, value FROM xcom WHERE key = 'return_value'
            AND task_id <> 'files' ORDER BY task_id, map_index",
    )
    .fetch_all(&u.db.pool)
    .await
    .expect("xcoms");
    let x = |t: &str, i: i32, v: i64| (t.to_owned(), i, serde_json::json!(v));
    assert_eq!(
        xcoms,
        vec![
            x("per_file.double", 0, 10),
            x("per_file.double", 1, 12),
            x("per_file.double", 2, 14),
            x("per_file.size", 0, 5),
            x("per_file.size", 1, 6),
            x("per_file.size", 2, 7),
            x("per_word.word_size", 0, 1),
            x("per_word.word_size", 1, 2),
        ]
    );
    assert_eq!(state, "success");
}
