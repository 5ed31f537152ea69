//! The clients against librdkafka's own mock cluster: fast checks of the
//! produce and consume paths. librdkafka talking to itself proves no interop;
//! the end-to-end tests in updraft/tests/kafka_*.rs use a real broker (tansu).

use std::time::Duration;

use rdkafka::mocking::MockCluster;
use serde_json::json;
use updraft_kafka::KafkaConfig;
use updraft_kafka::consume::Consumer;
use updraft_kafka::produce::{ProduceError, Producer, Record};

fn config(servers: &str, extra: serde_json::Value) -> KafkaConfig {
    let mut settings = json!({"bootstrap.servers": servers});
    if let (Some(m), Some(e)) = (settings.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    KafkaConfig::from_connection("kafka_default", Some("kafka"), &settings).expect("config")
}

fn record(i: u64) -> Record {
    Record {
        key: Some(format!("k{i}").into_bytes()),
        value: Some(format!("v{i}").into_bytes()),
        headers: vec![("h".into(), Some(b"1".to_vec()))],
    }
}

async fn produce(servers: &str, topic: &str, n: u64) -> Vec<updraft_kafka::produce::Delivery> {
    let mut p = Producer::new(&config(servers, json!({}))).expect("producer");
    let mut done = Vec::new();
    for i in 0..n {
        p.send(topic, i, &record(i), &mut done).await.expect("send");
    }
    while let Some(d) = p.next_delivery().await {
        done.push(d);
    }
    done
}

// Every message is reported once under its own number, delivered.
#[tokio::test]
async fn produce_reports_each_message_by_number() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("t", 3, 1).expect("topic");
    let servers = cluster.bootstrap_servers();
    let p = Producer::new(&config(&servers, json!({}))).expect("producer");
    assert_eq!(
        p.partitions("t", Duration::from_secs(5))
            .await
            .expect("meta"),
        3
    );
    let mut done = produce(&servers, "t", 500).await;
    done.sort_by_key(|d| d.seq);
    assert_eq!(done.len(), 500);
    for (i, d) in done.iter().enumerate() {
        assert_eq!(d.seq, i as u64);
        assert!(d.result.is_ok(), "{d:?}");
    }
}

// A missing topic is an error naming it, not a five-minute wait.
#[tokio::test]
async fn missing_topic_is_named() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let p = Producer::new(&config(
        &cluster.bootstrap_servers(),
        json!({
        "allow.auto.create.topics": "false"}),
    ))
    .expect("producer");
    let err = p.partitions("nope", Duration::from_secs(5)).await;
    match err {
        Err(e @ ProduceError::NoSuchTopic { .. }) => {
            assert!(e.to_string().contains("\"nope\""), "{e}")
        }
        other => panic!("expected NoSuchTopic, got {other:?}"),
    }
}

// Batches stop at the end of the log; nothing is committed until asked, so
// a second consumer of the group reads the same messages; after a commit
// it reads only what came later.
#[tokio::test]
async fn consume_commits_only_when_told() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("c", 2, 1).expect("topic");
    let servers = cluster.bootstrap_servers();
    produce(&servers, "c", 30).await;
    let cfg = config(
        &servers,
        json!({"group.id": "g1", "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "500"}),
    );
    let topics = vec!["c".to_owned()];

    let read_all = |mut c: Consumer| async move {
        let mut got = Vec::new();
        loop {
            let b = c
                .next_batch(7, Duration::from_secs(10))
                .await
                .expect("batch");
            assert!(b.len() <= 7);
            if b.is_empty() {
                break;
            }
            got.extend(b);
        }
        (c, got)
    };
    let (first, got) = read_all(Consumer::new(&cfg, &topics, None).expect("consumer")).await;
    assert_eq!(got.len(), 30);
    assert_eq!(first.consumed().values().sum::<i64>(), 30);
    drop(first); // no commit

    let (second, again) = read_all(Consumer::new(&cfg, &topics, None).expect("consumer")).await;
    assert_eq!(again.len(), 30, "uncommitted messages are read again");
    second
        .commit(&second.consumed().clone())
        .await
        .expect("commit");
    let lag = second.lag().await.expect("lag");
    assert!(lag.iter().all(|(_, _, l)| *l == 0), "{lag:?}");
    drop(second);

    produce(&servers, "c", 5).await;
    let (_third, rest) = read_all(Consumer::new(&cfg, &topics, None).expect("consumer")).await;
    assert_eq!(rest.len(), 5, "only the messages after the commit");
    assert_eq!(rest[0].headers.as_ref().map(Vec::len), Some(1));
}
