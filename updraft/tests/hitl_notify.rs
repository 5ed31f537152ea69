//! HITL notifications end to end, through `updraft scheduler` and `updraft
//! worker` processes: an `HttpNotifier` posting the request to a loopback
//! HTTP receiver of the test's own (real TCP), a failing one that leaves the
//! request waiting, and the `[hitl] kafka_topic` events of a request and
//! its answer on a real Kafka-protocol broker (tansu). DAGs:
//! `fixtures/hitl/notify.py`, `fixtures/hitl/hitl.py`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use serde_json::{Value, json};
use support::ti::Run;
use support::{Running, Updraft};
use updraft_core::store::hitl::{self, Answer, Answered};
use updraft_kafka::KafkaConfig;
use updraft_testkit::kafka::Broker;
use uuid::Uuid;

/// One HTTP request as the receiver read it.
#[derive(Debug)]
struct Received {
    request_line: String,
    headers: Vec<String>,
    body: Value,
}

/// A loopback HTTP server answering 200 to each request and handing what it
/// read to the test.
fn receiver() -> (u16, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("header");
                if line.trim().is_empty() {
                    break;
                }
                headers.push(line.trim().to_owned());
            }
            let length = headers
                .iter()
                .find_map(|h| {
                    let (k, v) = h.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let _ = tx.send(Received {
                request_line: request_line.trim().to_owned(),
                headers,
                body,
            });
        }
    });
    (port, rx)
}

async fn ti_id(u: &Updraft, dag: &str, task: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM task_instance WHERE dag_id = $1 AND task_id = $2")
        .bind(dag)
        .bind(task)
        .fetch_one(&u.db.pool)
        .await
        .expect("task instance")
}

/// Polls until `cond` holds on the task's log, or 60 s pass; the log.
async fn wait_log(u: &Updraft, run: &Run<'_>, task: &str, cond: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = run.log(&u.db.pool, task, false).await;
        if cond(&log) || Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_state(u: &Updraft, run: &Run<'_>, task: &str, states: &[&str]) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = run.state(&u.db.pool, task).await;
        if s.as_deref().is_some_and(|s| states.contains(&s)) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// Invariant: once the request is stored, HttpNotifier POSTs the request
// event (subject, rendered body, respond link from base_url, ids, options,
// assigned users) to the connection's URL + endpoint; a notifier that fails
// or is not run natively is logged and the task still waits, deferred.
#[tokio::test]
async fn http_notifier_posts_the_request() {
    let (port, received) = receiver();
    let u = Updraft::new()
        .await
        .env("AIRFLOW_CONN_HOOK", &format!("http://127.0.0.1:{port}"))
        .env(
            "AIRFLOW_CONN_DEAD_HOOK",
            &format!("http://127.0.0.1:{}", support::browser::free_port()),
        )
        .env("UPDRAFT__WEBSERVER__BASE_URL", "https://updraft.example/");
    u.write_dag("notify.py", include_str!("fixtures/hitl/notify.py"));
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "notify"]);
    u.ok(&["dags", "trigger", "notify", "--run-id", "r"]);
    let _procs = Running::start(&u, 2, 30);
    let run = Run {
        dag_id: "notify",
        run_id: "r",
    };

    let got = received
        .recv_timeout(Duration::from_secs(60))
        .expect("the webhook was called");
    let hooked = ti_id(&u, "notify", "hooked").await;
    assert_eq!(got.request_line, "POST /hitl?team=ops HTTP/1.1");
    assert!(
        got.headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("content-type: application/json")),
        "{:?}",
        got.headers
    );
    let b = &got.body;
    assert_eq!(b["event"], "request");
    assert_eq!(b["subject"], "Release 1.2?");
    assert_eq!(b["body"], "Ship **1.2**");
    assert_eq!(
        b["link"],
        format!("https://updraft.example/required-actions/{hooked}")
    );
    assert_eq!(
        (&b["dag_id"], &b["run_id"], &b["task_id"], &b["map_index"]),
        (&json!("notify"), &json!("r"), &json!("hooked"), &json!(-1))
    );
    assert_eq!(b["options"], json!(["Approve", "Reject"]));
    assert_eq!(b["assigned_users"], json!([{"id": "1", "name": "ann"}]));

    let log = wait_log(&u, &run, "hooked", |l| l.contains("was not called")).await;
    assert!(
        log.contains(&format!(
            "HttpNotifier: POST http://127.0.0.1:{port}/hitl?team=ops: 200 OK"
        )),
        "{log}"
    );
    assert!(log.contains("Pager was not called"), "{log}");
    let dead = wait_log(&u, &run, "dead", |l| l.contains("HttpNotifier failed")).await;
    assert!(dead.contains("HttpNotifier failed"), "{dead}");
    for task in ["hooked", "dead"] {
        assert_eq!(
            run.state(&u.db.pool, task).await.as_deref(),
            Some("deferred"),
            "{task}"
        );
    }
    assert!(
        received.recv_timeout(Duration::from_millis(500)).is_err(),
        "one request, one call"
    );
}

fn kafka_settings(bootstrap: &str) -> Value {
    json!({"bootstrap.servers": bootstrap, "group.id": "hitl-test"})
}

/// Every message of `topic` so far, as JSON.
async fn events(bootstrap: &str, topic: &str) -> Vec<(Option<String>, Value)> {
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("reader-{}", Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), c.recv()).await {
            Ok(Ok(m)) => out.push((
                m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or(Value::Null),
            )),
            Ok(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => break,
            Ok(Err(e)) => panic!("reading {topic}: {e}"),
            Err(_) => panic!("reading {topic}: no end of partition within 20 s"),
        }
    }
    out
}

/// Polls until `topic` holds `n` events, or 60 s pass.
async fn wait_events(bootstrap: &str, topic: &str, n: usize) -> Vec<(Option<String>, Value)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = events(bootstrap, topic).await;
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// Invariant: with [hitl] kafka_topic, a request publishes a `request` event
// and its answer an `answered` event (chosen options, who), both keyed by
// the task instance id, in that order.
#[tokio::test(flavor = "multi_thread")]
async fn kafka_events_for_request_and_answer() {
    let broker = Broker::start().expect("tansu broker");
    let bootstrap = broker.bootstrap();
    let topic = "hitl-events";
    let config = KafkaConfig::from_connection("t", Some("kafka"), &kafka_settings(&bootstrap))
        .expect("config");
    updraft_kafka::admin::create_topics(&config, &[(topic, 1)])
        .await
        .expect("create topic");
    let u = Updraft::new()
        .await
        .env(
            "AIRFLOW_CONN_HITL_BUS",
            &json!({"conn_type": "kafka", "extra": kafka_settings(&bootstrap)}).to_string(),
        )
        .env("UPDRAFT__HITL__KAFKA_TOPIC", topic)
        .env("UPDRAFT__HITL__KAFKA_CONN_ID", "hitl_bus");
    u.write_dag("hitl.py", include_str!("fixtures/hitl/hitl.py"));
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "approve"]);
    u.ok(&["dags", "trigger", "approve", "--run-id", "r"]);
    let _procs = Running::start(&u, 2, 30);
    let run = Run {
        dag_id: "approve",
        run_id: "r",
    };
    assert_eq!(
        wait_state(&u, &run, "gate", &["deferred", "failed"])
            .await
            .as_deref(),
        Some("deferred")
    );
    let gate = ti_id(&u, "approve", "gate").await;
    let first = wait_events(&bootstrap, topic, 1).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].0.as_deref(), Some(gate.to_string().as_str()));
    assert_eq!(first[0].1["event"], "request");
    assert_eq!(first[0].1["subject"], "Release 1.2?");
    assert_eq!(first[0].1["link"], format!("/required-actions/{gate}"));

    let mut tx = u.db.pool.begin().await.expect("tx");
    let a = Answer {
        chosen_options: vec!["Approve".to_owned()],
        params_input: json!({}),
        responded_by: json!({"id": "7", "name": "ann"}),
    };
    assert_eq!(
        hitl::answer(&mut tx, gate, &a).await.expect("answer"),
        Answered::Applied
    );
    tx.commit().await.expect("commit");
    assert_eq!(
        wait_state(&u, &run, "gate", &["success", "failed"])
            .await
            .as_deref(),
        Some("success")
    );
    let all = wait_events(&bootstrap, topic, 2).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let answered = &all[1].1;
    assert_eq!(all[1].0.as_deref(), Some(gate.to_string().as_str()));
    assert_eq!(answered["event"], "answered");
    assert_eq!(answered["chosen_options"], json!(["Approve"]));
    assert_eq!(answered["responded_by_user"]["name"], "ann");
    assert_eq!(answered["event_id"], format!("{gate}:1:answered"));
    let log = wait_log(&u, &run, "gate", |l| l.contains("answered event")).await;
    assert!(log.contains("HITL answered event sent to topic"), "{log}");
}
