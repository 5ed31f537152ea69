//! Kafka tasks end to end on a real Kafka-protocol broker (tansu on
//! loopback, started per test): the article's `software_factory_pipeline`
//! unchanged, and the provider's hello-kafka system test DAG
//! (`dags/example_kafka_hello_v2.py`), through `updraft scheduler` and
//! `updraft worker` processes.

mod support;

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use support::ti::Run;
use support::{Running, Updraft, repo_root};
use updraft_kafka::KafkaConfig;
use updraft_testkit::kafka::Broker;

/// librdkafka settings for the tests' own clients and connections: short
/// group timeouts so a consumer that went away is noticed quickly.
fn settings(bootstrap: &str, group: &str) -> Value {
    json!({"bootstrap.servers": bootstrap, "group.id": group,
        "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"})
}

async fn create_topics(bootstrap: &str, topics: &[&str]) {
    let config = KafkaConfig::from_connection("t", Some("kafka"), &settings(bootstrap, "admin"))
        .expect("config");
    let with_partitions: Vec<(&str, i32)> = topics.iter().map(|t| (*t, 1)).collect();
    updraft_kafka::admin::create_topics(&config, &with_partitions)
        .await
        .expect("create topics");
}

async fn produce(bootstrap: &str, topic: &str, key: &str, value: &str) {
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("producer");
    p.send(
        FutureRecord::to(topic).key(key).payload(value),
        Duration::from_secs(10),
    )
    .await
    .expect("delivered");
}

/// Every message of `topic` (from the beginning), as (key, value) text.
async fn read_all(bootstrap: &str, topic: &str) -> Vec<(Option<String>, String)> {
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("reader-{}", uuid_like()))
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
                String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
            )),
            Ok(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => break,
            Ok(Err(e)) => panic!("reading {topic}: {e}"),
            Err(_) => panic!("reading {topic}: no end of partition within 20 s"),
        }
    }
    out
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

fn conn_env(bootstrap: &str, group: &str) -> String {
    json!({"conn_type": "kafka", "extra": settings(bootstrap, group)}).to_string()
}

fn trigger(u: &Updraft, dag_id: &str) -> String {
    u.ok(&["dags", "unpause", dag_id]);
    let run = u.json(&["dags", "trigger", dag_id, "-o", "json"]);
    let run = if run.is_array() { run[0].clone() } else { run };
    run["run_id"].as_str().expect("run_id").to_owned()
}

// The article's DAG, unchanged: a ticket put on jira-events is consumed
// into ingest_spec's XCom; the three produce tasks publish what Airflow
// would render, `None` for the two xcom_pull calls of task ids that do not
// exist (and the DAG processor warns about them); offsets are committed, so
// a second run consumes nothing new.
#[tokio::test(flavor = "multi_thread")]
async fn software_factory_pipeline_runs_unchanged() {
    let broker = Broker::start().expect("tansu broker");
    let bootstrap = broker.bootstrap();
    create_topics(
        &bootstrap,
        &[
            "jira-events",
            "code-artifacts",
            "quality-gates",
            "deployment-triggers",
        ],
    )
    .await;
    let ticket = r#"{"key": "FEAT-42", "summary": "Sign in with SSO", "type": "feature"}"#;
    produce(&bootstrap, "jira-events", "FEAT-42", ticket).await;

    let u = Updraft::new().await.env(
        "AIRFLOW_CONN_KAFKA_DEFAULT",
        &conn_env(&bootstrap, "factory"),
    );
    let seed = repo_root().join("dags/software_factory_pipeline.py");
    let text = std::fs::read_to_string(&seed).expect("the article's DAG");
    // The copy in dags/ is the seed itself, byte for byte, when the seed is here.
    if let Ok(original) =
        std::fs::read_to_string(repo_root().join("../shared/seed/software_factory_pipeline.py"))
    {
        assert_eq!(
            text, original,
            "dags/software_factory_pipeline.py differs from the seed"
        );
    }
    u.write_dag("software_factory_pipeline.py", &text);
    u.ok(&["dags", "reserialize"]);
    let warnings = u.ok(&["dags", "list-warnings", "-o", "json"]);
    for missing in ["'ingest'", "'run_quality_gate'"] {
        assert!(
            warnings.contains(missing) || warnings.contains(&missing.replace('\'', "\\\"")),
            "no parse-time warning naming {missing}: {warnings}"
        );
    }

    let _running = Running::start(&u, 4, 30);
    let run_id = trigger(&u, "software_factory_pipeline");
    let state = support::run_end(&u.db.pool, &run_id).await;
    let r = Run {
        dag_id: "software_factory_pipeline",
        run_id: &run_id,
    };
    if state != "success" {
        for t in ["ingest_spec", "generate_code", "quality_gate", "deploy"] {
            eprintln!("--- {t}:\n{}", r.log(&u.db.pool, t, false).await);
        }
    }
    assert_eq!(state, "success");

    let consumed = r
        .xcom(&u.db.pool, "ingest_spec", "return_value")
        .await
        .expect("ingest_spec pushed the messages");
    let messages = consumed.as_array().expect("a list of messages");
    assert_eq!(messages.len(), 1, "{consumed}");
    assert_eq!(messages[0]["topic"], "jira-events");
    assert_eq!(messages[0]["key"], "FEAT-42");
    assert_eq!(messages[0]["offset"], 0);
    assert_eq!(messages[0]["value"]["summary"], "Sign in with SSO");

    // generate_code pulls task 'ingest' (no such task): Airflow renders None.
    assert_eq!(
        read_all(&bootstrap, "code-artifacts").await,
        vec![(None, "None".to_owned())]
    );
    // quality_gate pulls generate_code's XCom: where its message went.
    let gate = read_all(&bootstrap, "quality-gates").await;
    assert_eq!(gate.len(), 1, "{gate:?}");
    for part in [
        "'topic': 'code-artifacts'",
        "'offset': 0",
        "'value': 'None'",
    ] {
        assert!(gate[0].1.contains(part), "{part} not in {:?}", gate[0].1);
    }
    // deploy pulls 'run_quality_gate' (the variable's name, not the task id).
    assert_eq!(
        read_all(&bootstrap, "deployment-triggers").await,
        vec![(None, "None".to_owned())]
    );
    let ingest_log = r.log(&u.db.pool, "ingest_spec", false).await;
    assert!(
        ingest_log.contains("Committed offsets jira-events[0]@1"),
        "{ingest_log}"
    );

    // The offsets were committed: the next run reads nothing new.
    let second = trigger(&u, "software_factory_pipeline");
    assert_eq!(support::run_end(&u.db.pool, &second).await, "success");
    let again = Run {
        dag_id: "software_factory_pipeline",
        run_id: &second,
    }
    .xcom(&u.db.pool, "ingest_spec", "return_value")
    .await;
    assert_eq!(again, Some(json!([])));
}

// The provider's hello-kafka system test, for Updraft: producer functions
// by dotted path and as a callable, apply functions per message (dotted
// path, functools.partial) and per batch, commit at the end of each batch,
// and AwaitMessageSensor pushing the first matching value under its key.
#[tokio::test(flavor = "multi_thread")]
async fn hello_kafka_system_test_passes() {
    let broker = Broker::start().expect("tansu broker");
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &["test_1"]).await;
    let mut u = Updraft::new().await;
    for (id, group) in [
        ("KAFKA_HELLO_PRODUCER", "producer"),
        ("KAFKA_HELLO_T2", "t2"),
        ("KAFKA_HELLO_T4", "t4"),
        ("KAFKA_HELLO_T4B", "t4b"),
        ("KAFKA_HELLO_T5", "t5"),
    ] {
        u = u.env(&format!("AIRFLOW_CONN_{id}"), &conn_env(&bootstrap, group));
    }
    let text = std::fs::read_to_string(repo_root().join("dags/example_kafka_hello_v2.py"))
        .expect("dags/example_kafka_hello_v2.py");
    u.write_dag("example_kafka_hello_v2.py", &text);
    u.ok(&["dags", "reserialize"]);
    assert!(u.import_errors().is_empty(), "{:?}", u.import_errors());

    let _running = Running::start(&u, 4, 30);
    let run_id = trigger(&u, "example_kafka_hello_v2");
    let state = support::run_end(&u.db.pool, &run_id).await;
    let r = Run {
        dag_id: "example_kafka_hello_v2",
        run_id: &run_id,
    };
    let tasks = [
        "produce_to_topic",
        "consume_from_topic",
        "produce_to_topic_2",
        "consume_from_topic_2",
        "consume_from_topic_2_b",
        "awaiting_message",
        "hello_kafka",
    ];
    if state != "success" {
        for t in tasks {
            eprintln!("--- {t}:\n{}", r.log(&u.db.pool, t, false).await);
        }
    }
    assert_eq!(state, "success");

    // Two producers of 20 messages each: 40 on the topic, keys "0".."19" twice.
    let all = read_all(&bootstrap, "test_1").await;
    assert_eq!(all.len(), 40, "{all:?}");
    // consume_from_topic stops at max_messages=10, in batches of 2.
    let t2 = r.log(&u.db.pool, "consume_from_topic", false).await;
    assert_eq!(t2.matches("consumed::: test_1 @").count(), 10, "{t2}");
    assert!(t2.contains("Consumed 10 message(s)"), "{t2}");
    // consume_from_topic_2 (per message) and _b (per batch) read up to 30 each.
    for t in ["consume_from_topic_2", "consume_from_topic_2_b"] {
        let log = r.log(&u.db.pool, t, false).await;
        let n = log.matches("consumed::: test_1 @").count();
        assert!((20..=30).contains(&n), "{t} logged {n} messages:\n{log}");
    }
    // The first value divisible by 5 is 5 (values are 1..20).
    let found = r
        .xcom(&u.db.pool, "awaiting_message", "retrieved_message")
        .await;
    assert_eq!(found, Some(json!(" Got the following message: 5")));
    assert!(
        r.log(&u.db.pool, "hello_kafka", false)
            .await
            .contains("Hello Kafka !")
    );
}

const TRIGGER_FUNCTION_DAG: &str = r#"
from airflow.providers.apache.kafka.sensors.kafka import AwaitMessageTriggerFunctionSensor
from airflow.sdk import DAG
import pendulum

def is_price(message):
    return message.value().decode() if message.key() == b"price" else None

def on_price(event, **context):
    print("price change seen:", event, "in", context["dag"].dag_id)

with DAG("listen", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    AwaitMessageTriggerFunctionSensor(task_id="listen", topics=["prices"], apply_function=is_price,
                                      event_triggered_function=on_price, poll_interval=1,
                                      timeout=6, soft_fail=True)
"#;

// AwaitMessageTriggerFunctionSensor (provider 2.x, a sensor with a timeout):
// each matching message calls event_triggered_function with the context,
// others are passed over; the timeout ends it, skipped under soft_fail.
#[tokio::test(flavor = "multi_thread")]
async fn trigger_function_sensor_calls_back_until_its_timeout() {
    let broker = Broker::start().expect("tansu broker");
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &["prices"]).await;
    for (k, v) in [("price", "9.99"), ("other", "x"), ("price", "10.49")] {
        produce(&bootstrap, "prices", k, v).await;
    }
    let u = Updraft::new().await.env(
        "AIRFLOW_CONN_KAFKA_DEFAULT",
        &conn_env(&bootstrap, "listen"),
    );
    u.write_dag("listen.py", TRIGGER_FUNCTION_DAG);
    u.ok(&["dags", "reserialize"]);
    assert!(u.import_errors().is_empty(), "{:?}", u.import_errors());
    let _running = Running::start(&u, 2, 30);
    let run_id = trigger(&u, "listen");
    let state = support::run_end(&u.db.pool, &run_id).await;
    let r = Run {
        dag_id: "listen",
        run_id: &run_id,
    };
    let log = r.log(&u.db.pool, "listen", false).await;
    assert_eq!(
        r.state(&u.db.pool, "listen").await.as_deref(),
        Some("skipped"),
        "{log}"
    );
    assert_eq!(state, "success", "{log}");
    assert!(log.contains("price change seen: 9.99 in listen"), "{log}");
    assert!(log.contains("price change seen: 10.49 in listen"), "{log}");
    assert!(!log.contains("price change seen: x"), "{log}");
    assert!(log.contains("Sensor has timed out"), "{log}");
}

const BAD_INPUT_DAG: &str = r#"
from datetime import datetime
from airflow import DAG
from airflow.providers.apache.kafka.operators.kafka_produce import KafkaProduceOperator
from airflow.providers.apache.kafka.operators.kafka_consume import KafkaConsumeOperator
from airflow.providers.apache.kafka.operators.produce import ProduceToTopicOperator

def not_pairs():
    yield "just a string"

with DAG("bad_kafka", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    KafkaProduceOperator(task_id="missing_topic", topic="nope", value="x")
    KafkaConsumeOperator(task_id="missing_connection", topics=["t"], kafka_config_id="nowhere")
    ProduceToTopicOperator(task_id="bad_records", topic="t", producer_function=not_pairs)
"#;

// Bad input fails the task with a message that says what and where: a
// topic that does not exist (at once, not after librdkafka's timeout), a
// connection that is not defined, a producer function that yields no pairs.
#[tokio::test(flavor = "multi_thread")]
async fn bad_kafka_input_fails_clearly() {
    let broker = Broker::start().expect("tansu broker");
    let bootstrap = broker.bootstrap();
    create_topics(&bootstrap, &["t"]).await;
    let u = Updraft::new()
        .await
        .env("AIRFLOW_CONN_KAFKA_DEFAULT", &conn_env(&bootstrap, "bad"));
    u.write_dag("bad_kafka.py", BAD_INPUT_DAG);
    u.ok(&["dags", "reserialize"]);
    let _running = Running::start(&u, 3, 30);
    let started = std::time::Instant::now();
    let run_id = trigger(&u, "bad_kafka");
    assert_eq!(support::run_end(&u.db.pool, &run_id).await, "failed");
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "the failures took {:?}",
        started.elapsed()
    );
    let r = Run {
        dag_id: "bad_kafka",
        run_id: &run_id,
    };
    let expect = [
        ("missing_topic", "topic \"nope\" does not exist on"),
        ("missing_connection", "The conn_id `nowhere` isn't defined"),
        (
            "bad_records",
            "producer_function must yield (key, value) pairs",
        ),
    ];
    for (task, words) in expect {
        assert_eq!(
            r.state(&u.db.pool, task).await.as_deref(),
            Some("failed"),
            "{task}"
        );
        let log = r.log(&u.db.pool, task, false).await;
        assert!(log.contains(words), "{task}: no {words:?} in\n{log}");
    }
    // Nothing was published by the failed producer.
    let left = read_all(&bootstrap, "t").await;
    assert!(left.is_empty(), "{left:?}");
}
