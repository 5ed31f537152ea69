//! Sessions against the real task runner (`$UPDRAFT_BIN __task-runner` when
//! set, else `python3 -m updraft_runtime.task_runner`), with the
//! compatibility package from the source tree. One test: the runner is
//! process-wide and its reader lives on the runtime that started it.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value as Json, json};
use tokio::sync::Notify;

use super::{Session, SessionEvent};
use crate::log_sink::MemorySink;
use crate::python_runner::{self, ContextData, Mode, ResultState, RunnerCommand, TaskRequest};

const DAG: &str = r#"
import os, time
from datetime import datetime
from airflow import DAG
from airflow.providers.apache.kafka.operators.produce import ProduceToTopicOperator
from airflow.providers.apache.kafka.operators.consume import ConsumeFromTopicOperator

def pairs(n):
    return [(f"k{i}", f"v{i}") for i in range(n)]

def apply(message, prefix=""):
    value = message.value().decode()
    print("applying", value)
    if value == "pid":
        return os.getpid()
    if value == "hang":
        time.sleep(60)
    return prefix + value

with DAG(dag_id="k", schedule=None, start_date=datetime(2026, 1, 1)):
    ProduceToTopicOperator(task_id="produce", topic="t", producer_function=pairs,
                           producer_function_args=[3])
    ConsumeFromTopicOperator(task_id="consume", topics=["t"], apply_function=apply,
                             apply_function_kwargs={"prefix": "<"})
"#;

fn use_real_runner() {
    let compat = Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/airflow_compat");
    let command = match std::env::var_os("UPDRAFT_BIN") {
        Some(bin) => RunnerCommand {
            program: bin.into(),
            args: vec!["__task-runner".into(), "--compat-dir".into(), compat.into()],
        },
        None => RunnerCommand {
            program: "env".into(),
            args: vec![
                format!("PYTHONPATH={}", compat.display()).into(),
                "python3".into(),
                "-m".into(),
                "updraft_runtime.task_runner".into(),
            ],
        },
    };
    python_runner::set_command(command);
}

fn request(fileloc: &Path, task_id: &str, kind: &str) -> TaskRequest {
    TaskRequest {
        fileloc: fileloc.to_string_lossy().into_owned(),
        dag_id: "k".into(),
        task_id: task_id.into(),
        run_id: "r".into(),
        kind: kind.into(),
        mode: Mode::Kafka,
        context: ContextData {
            logical_date: None,
            data_interval_start: None,
            data_interval_end: None,
            conf: json!({}),
            params: json!({}),
            try_number: 1,
            map_index: -1,
            dialect: "2",
            run_type: "manual",
        },
        rendered: Map::new(),
        xcoms: Vec::new(),
        variables: Map::new(),
        connections: Map::new(),
        expand_input: None,
        timeout: Some(120.0),
        call: None,
    }
}

/// A consume batch of messages whose values are given base64-encoded
/// ("YQ==" a, "Yg==" b, "aGFuZw==" hang, "cGlk" pid).
fn batch(values: &[&str]) -> Json {
    let msgs: Vec<Json> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({"topic": "t", "partition": 0, "offset": i, "key": null, "value": v,
                   "headers": null, "timestamp": [1, 0]})
        })
        .collect();
    json!({"batch": msgs, "want_results": true})
}

fn assert_send<T: Send>(_: &T) {}

async fn data(session: &mut Session<'_, MemorySink>, lost: &Notify) -> Json {
    match session.recv(lost).await {
        SessionEvent::Data(d) => d,
        SessionEvent::Ended(r) => panic!("the job ended early: {r:?}"),
    }
}

// open/send/recv/finish, a lost lease and a dropped session, against the
// real runner: data comes back in order with the log, and a session nobody
// holds any more leaves no child behind.
#[tokio::test]
async fn sessions_exchange_data_and_end_cleanly() {
    use_real_runner();
    let dir = tempfile::tempdir().expect("tempdir");
    let dag = dir.path().join("k.py");
    std::fs::write(&dag, DAG).expect("dag file");
    let sink = MemorySink::new();
    let lost = Notify::new();

    // Producer: records, then the ack that lets the task end.
    let produce = request(&dag, "produce", "kafka_produce_to_topic");
    let mut s = Session::open(&produce, &sink, &[]).await.expect("open");
    let records = data(&mut s, &lost).await;
    assert_eq!(
        records,
        json!({"records": [["azA=", "djA="], ["azE=", "djE="], ["azI=", "djI="]]})
    );
    s.send(&json!({"ack": 3})).await.expect("send");
    let result = s.finish(&lost).await;
    assert_eq!(result.state, ResultState::Success, "{result:?}");

    // Consumer: a batch in, its results out, the log streamed meanwhile.
    let consume = request(&dag, "consume", "kafka_consume_from_topic");
    let mut s = Session::open(&consume, &sink, &[]).await.expect("open");
    assert_send(&s.recv(&lost)); // the worker drives sessions from spawned tasks
    s.send(&batch(&["YQ==", "Yg=="])).await.expect("send");
    assert_eq!(
        data(&mut s, &lost).await,
        json!({"done": 2, "results": ["<a", "<b"]})
    );
    assert!(sink.lines().contains(&"applying b".to_owned()));
    s.send(&json!({"end": true})).await.expect("send");
    let result = s.finish(&lost).await;
    assert_eq!(result.state, ResultState::Success, "{result:?}");
    // A mode other than kafka is refused.
    let mut plain = request(&dag, "consume", "kafka_consume_from_topic");
    plain.mode = Mode::Execute;
    assert!(Session::open(&plain, &sink, &[]).await.is_err());

    // A lost lease ends the session with the failed result.
    let mut s = Session::open(&consume, &sink, &[]).await.expect("open");
    s.send(&batch(&["aGFuZw=="])).await.expect("send");
    let (ended, ()) = tokio::join!(s.recv(&lost), async {
        assert!(
            sink.wait_for_line(|l| l == "applying hang", Duration::from_secs(30))
                .await
        );
        lost.notify_one();
    });
    match ended {
        SessionEvent::Ended(r) => {
            assert_eq!(r.state, ResultState::Failed);
            assert!(r.message.contains("lease"), "{}", r.message);
        }
        SessionEvent::Data(d) => panic!("unexpected data {d}"),
    }
    // Ended is sticky.
    assert!(matches!(s.recv(&lost).await, SessionEvent::Ended(_)));
    drop(s);

    // Dropping a session mid-task kills its child.
    let mut s = Session::open(&consume, &sink, &[]).await.expect("open");
    s.send(&batch(&["cGlk"])).await.expect("send");
    let pid = data(&mut s, &lost).await["results"][0]
        .as_u64()
        .expect("pid");
    let proc_dir = format!("/proc/{pid}");
    assert!(Path::new(&proc_dir).exists());
    s.send(&batch(&["aGFuZw=="])).await.expect("send");
    drop(s);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while Path::new(&proc_dir).exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dropped session's child {pid} still runs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The runner still serves.
    let s = Session::open(&produce, &sink, &[]).await.expect("open");
    let result = s.cancel().await;
    assert_eq!(result.state, ResultState::Failed);
    assert!(result.message.contains("stopped"), "{}", result.message);
}
