//! Kafka against a real Kafka-protocol broker (tansu 0.6 on loopback, one per
//! test, `updraft_testkit::Broker`): topic admin, a produce/consume round
//! trip with our rdkafka build, what tansu supports (idempotence and
//! partition EOF: yes; transactions: no), `updraft kafka topics`, connections from
//! the environment, and the embedded broker of `updraft standalone`.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::json;
use updraft_kafka::KafkaConfig;
use updraft_kafka::admin::{TopicInfo, create_topics, list_topics};
use updraft_testkit::Broker;

const WAIT: Duration = Duration::from_secs(30);

fn config(broker: &Broker) -> KafkaConfig {
    KafkaConfig::from_connection(
        "kafka_default",
        Some("kafka"),
        &json!({"bootstrap.servers": broker.bootstrap()}),
    )
    .expect("config")
}

fn client(broker: &Broker, settings: &[(&str, &str)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", broker.bootstrap());
    for (k, v) in settings {
        c.set(*k, *v);
    }
    c
}

async fn produce(producer: &FutureProducer, topic: &str, payload: &str) -> Result<(), KafkaError> {
    producer
        .send(
            FutureRecord::<str, str>::to(topic)
                .payload(payload)
                .key("k"),
            Duration::from_secs(10),
        )
        .await
        .map(|_| ())
        .map_err(|(e, _)| e)
}

fn group_consumer(broker: &Broker, group: &str, extra: &[(&str, &str)]) -> StreamConsumer {
    let mut settings = vec![
        ("group.id", group),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
    ];
    settings.extend_from_slice(extra);
    client(broker, &settings).create().expect("consumer")
}

// Invariant: topics created through the admin module exist with their
// partitions, creating them again is fine, and our rdkafka build produces
// to and consumes (in a group, with a commit) from the broker tests use.
#[tokio::test]
async fn admin_topics_and_a_round_trip_with_a_consumer_group() {
    let broker = Broker::start().expect("tansu");
    let cfg = config(&broker);
    create_topics(&cfg, &[("orders", 3), ("events", 1)])
        .await
        .expect("create");
    create_topics(&cfg, &[("orders", 3)])
        .await
        .expect("creating an existing topic is fine");
    let topics = list_topics(&cfg).await.expect("list");
    let want = |name: &str, partitions| TopicInfo {
        name: name.to_owned(),
        partitions,
    };
    assert!(topics.contains(&want("orders", 3)), "{topics:?}");
    assert!(topics.contains(&want("events", 1)), "{topics:?}");

    let producer: FutureProducer = client(&broker, &[]).create().expect("producer");
    produce(&producer, "events", "hello")
        .await
        .expect("produce");

    let consumer = group_consumer(&broker, "g1", &[]);
    consumer.subscribe(&["events"]).expect("subscribe");
    let joined = Instant::now();
    let msg = tokio::time::timeout(WAIT, consumer.recv())
        .await
        .expect("a message within the wait")
        .expect("recv");
    eprintln!("group join to first message: {:?}", joined.elapsed());
    assert_eq!(msg.payload_view::<str>(), Some(Ok("hello")));
    consumer
        .commit_message(&msg, CommitMode::Sync)
        .expect("commit");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("events", 0);
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    let offset = committed.find_partition("events", 0).map(|p| p.offset());
    assert_eq!(offset, Some(Offset::Offset(1)), "the commit is stored");
}

// Probe: an idempotent producer (enable.idempotence=true, which needs
// InitProducerId) works against tansu 0.6.
#[tokio::test]
async fn idempotent_producer() {
    let broker = Broker::start().expect("tansu");
    create_topics(&config(&broker), &[("idem", 1)])
        .await
        .expect("create");
    let producer: FutureProducer = client(&broker, &[("enable.idempotence", "true")])
        .create()
        .expect("producer");
    let sent = produce(&producer, "idem", "once").await;
    eprintln!("idempotent produce: {sent:?}");
    assert!(sent.is_ok(), "{sent:?}\n{}", broker.log());
}

// Probe, a known limit: tansu 0.6 lets a transactional producer init,
// begin and send, but does not support EndTxn, so no transaction commits
// (librdkafka: "EndTxnRequest (KIP-98) not supported by broker"). Kafka
// operators' exactly-once mode cannot be tested against tansu 0.6; this
// test fails when a tansu that commits arrives, to say so.
#[tokio::test]
async fn transactions_do_not_commit_on_tansu_0_6() {
    let broker = Broker::start().expect("tansu");
    create_topics(&config(&broker), &[("tx", 1)])
        .await
        .expect("create");
    let producer: FutureProducer = client(&broker, &[("transactional.id", "updraft-probe")])
        .create()
        .expect("producer");
    let producer = tokio::task::spawn_blocking(move || -> Result<FutureProducer, KafkaError> {
        producer.init_transactions(Duration::from_secs(15))?;
        producer.begin_transaction()?;
        Ok(producer)
    })
    .await
    .expect("join")
    .expect("init and begin a transaction");
    produce(&producer, "tx", "in a transaction")
        .await
        .expect("produce in a transaction");
    let committed =
        tokio::task::spawn_blocking(move || producer.commit_transaction(Duration::from_secs(15)))
            .await
            .expect("join");
    let err = committed.expect_err("tansu 0.6 commits no transaction");
    assert!(err.to_string().contains("EndTxn"), "{err}");
}

// Probe: with enable.partition.eof, a consumer is told when it has read
// a partition to its end.
#[tokio::test]
async fn partition_eof_is_reported() {
    let broker = Broker::start().expect("tansu");
    create_topics(&config(&broker), &[("eof", 1)])
        .await
        .expect("create");
    let producer: FutureProducer = client(&broker, &[]).create().expect("producer");
    produce(&producer, "eof", "only").await.expect("produce");
    let consumer = group_consumer(&broker, "geof", &[("enable.partition.eof", "true")]);
    consumer.subscribe(&["eof"]).expect("subscribe");
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await {
            Ok(Ok(m)) => seen.push(format!("message at {}", m.offset())),
            Ok(Err(KafkaError::PartitionEOF(p))) => {
                seen.push(format!("eof of partition {p}"));
                break;
            }
            Ok(Err(e)) => seen.push(format!("error {e}")),
            Err(_) => seen.push("nothing for 5 s".to_owned()),
        }
    }
    eprintln!("partition EOF probe: {seen:?}");
    assert_eq!(
        seen,
        vec!["message at 0".to_owned(), "eof of partition 0".to_owned()]
    );
}

// Invariant: `updraft kafka topics` works on the connection a task would
// use: from AIRFLOW_CONN_* (no database needed), or from the database.
#[tokio::test]
async fn cli_creates_and_lists_topics() {
    let broker = Broker::start().expect("tansu");
    let u = support::Updraft::new().await.env(
        "AIRFLOW_CONN_KAFKA_DEFAULT",
        &format!("kafka://?bootstrap.servers={}", broker.bootstrap()),
    );
    let out = u.ok(&["kafka", "topics", "create", "a", "b", "--partitions", "2"]);
    assert!(out.contains("Topic a ready"), "{out}");
    let listed = u.json(&["kafka", "topics", "list", "-o", "json"]);
    assert_eq!(
        listed,
        json!([{"topic": "a", "partitions": 2}, {"topic": "b", "partitions": 2}])
    );
    // The same broker through a database connection of another id.
    let extra = json!({"bootstrap.servers": broker.bootstrap()}).to_string();
    u.ok(&[
        "connections",
        "add",
        "my_kafka",
        "--conn-type",
        "kafka",
        "--conn-extra",
        &extra,
    ]);
    u.ok(&["kafka", "topics", "create", "c", "--conn-id", "my_kafka"]);
    let plain = u.ok(&[
        "kafka",
        "topics",
        "list",
        "--conn-id",
        "my_kafka",
        "-o",
        "plain",
    ]);
    assert_eq!(plain, "a\t2\nb\t2\nc\t1\n");
    let missing = u.run(&["kafka", "topics", "list", "--conn-id", "nope"]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("AIRFLOW_CONN_NOPE"),
        "the error says how to define it"
    );
}

// Invariant: as in Airflow, `connections get` finds a connection in the
// environment first, while `connections list` shows the database only.
#[tokio::test]
async fn env_connections_win_in_get_and_stay_out_of_list() {
    let u = support::Updraft::new()
        .await
        .env(
            "AIRFLOW_CONN_KAFKA_DEFAULT",
            r#"{"conn_type": "kafka", "extra": {"bootstrap.servers": "env:9092"}}"#,
        )
        .env("AIRFLOW_CONN_WEB", "http://user:pw@example.org:8080/p");
    u.ok(&[
        "connections",
        "add",
        "kafka_default",
        "--conn-uri",
        "kafka://?bootstrap.servers=db%3A9092",
    ]);
    let got = u.json(&["connections", "get", "kafka_default", "-o", "json"]);
    assert_eq!(
        got[0]["extra_dejson"],
        json!({"bootstrap.servers": "env:9092"})
    );
    let web = u.json(&["connections", "get", "web", "-o", "json"]);
    assert_eq!(web[0]["host"], json!("example.org"));
    assert_eq!(web[0]["port"], json!(8080));
    let listed = u.json(&["connections", "list", "-o", "json"]);
    let ids: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["conn_id"].as_str())
        .collect();
    assert_eq!(ids, vec!["kafka_default"]);
    assert_eq!(
        listed[0]["extra_dejson"],
        json!({"bootstrap.servers": "db:9092"})
    );
}

// Invariant: a task's templates see AIRFLOW_CONN_* connections over the
// database's, and their secrets are masked as a database connection's are.
#[tokio::test]
async fn tasks_see_env_connections_masked() {
    let u = support::Updraft::new()
        .await
        .env("AIRFLOW_CONN_C2", "http://me:s3cr3t-env@env.example/p");
    u.write_dag(
        "m.py",
        "from datetime import datetime\nfrom airflow import DAG\n\
         from airflow.operators.bash import BashOperator\n\
         with DAG(dag_id='m', schedule=None, start_date=datetime(2026, 1, 1)):\n\
         \x20   BashOperator(task_id='leak', \
         bash_command='echo pw={{ conn.c2.password }} host={{ conn.c2.host }}')\n",
    );
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "trigger", "m", "--run-id", "r"]);
    u.ok(&[
        "connections",
        "add",
        "c2",
        "--conn-uri",
        "http://me:db-pw@db.example",
    ]);
    sqlx::query(
        "INSERT INTO task_instance (id, dag_id, run_id, task_id, state, try_number)
         VALUES (gen_random_uuid(), 'm', 'r', 'leak', 'queued', 1)
         ON CONFLICT (dag_id, run_id, task_id, map_index)
         DO UPDATE SET state = 'queued', try_number = task_instance.try_number + 1",
    )
    .execute(&u.db.pool)
    .await
    .expect("queue");
    u.ok(&["worker", "--once"]);
    let log = u.ok(&["tasks", "logs", "m", "r", "leak"]);
    assert!(log.contains("INFO - pw=*** host=env.example"), "{log}");
    assert!(
        !log.contains("s3cr3t-env") && !log.contains("db-pw"),
        "{log}"
    );
}

/// `updraft standalone` of `u`, with the tansu binary, its stdout collected.
struct Standalone {
    child: std::process::Child,
    rx: std::sync::mpsc::Receiver<String>,
    lines: Vec<String>,
}

impl Standalone {
    fn start(u: &support::Updraft) -> Self {
        let tansu = updraft_testkit::kafka::tansu_bin().expect("tansu binary");
        let mut child = u
            .command(&["standalone"])
            .env("UPDRAFT_TANSU_BIN", tansu)
            .stdout(Stdio::piped())
            .spawn()
            .expect("standalone");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            rx,
            lines: Vec::new(),
        }
    }

    /// Waits (up to 120 s) for a line containing `text`; returns it.
    fn wait_for(&mut self, text: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(l) = self.lines.iter().find(|l| l.contains(text)) {
                return Some(l.clone());
            }
            if let Ok(line) = self.rx.recv_timeout(Duration::from_millis(200)) {
                self.lines.push(line);
            }
        }
        None
    }

    /// SIGTERM, then the exit status and all output.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        self.lines.extend(self.rx.try_iter());
        (status, self.lines.join("\n"))
    }
}

async fn kafka_default(u: &support::Updraft) -> (Option<String>, serde_json::Value) {
    let (description, extra): (Option<String>, Vec<u8>) =
        sqlx::query_as("SELECT description, extra FROM connection WHERE conn_id = 'kafka_default'")
            .fetch_one(&u.db.pool)
            .await
            .expect("kafka_default exists");
    (
        description,
        serde_json::from_slice(&extra).expect("extra is JSON"),
    )
}

// Invariant: standalone with no kafka_default starts its own broker, points
// kafka_default at it (a broker that answers Kafka requests), refreshes it
// on the next start, and stops it on shutdown.
#[tokio::test]
async fn standalone_embeds_a_broker_when_no_kafka_connection_exists() {
    let u = support::Updraft::new().await;
    let mut bootstraps = Vec::new();
    for _ in 0..2 {
        let mut s = Standalone::start(&u);
        let ready = s.wait_for("Scheduler and a worker pool").is_some();
        let (description, extra) = kafka_default(&u).await;
        let bootstrap = extra["bootstrap.servers"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let config = KafkaConfig::from_connection("kafka_default", Some("kafka"), &extra)
            .expect("a kafka config");
        let created = create_topics(&config, &[("t", 1)]).await;
        let (status, text) = s.stop();
        assert!(ready, "{text}");
        assert!(status.success(), "{status}\n{text}");
        assert_eq!(
            description.as_deref(),
            Some("embedded broker of updraft standalone")
        );
        assert_eq!(extra["group.id"], json!("updraft"));
        assert_eq!(extra["auto.offset.reset"], json!("earliest"));
        assert!(created.is_ok(), "the broker answers: {created:?}\n{text}");
        assert!(
            text.contains(&format!("Embedded Kafka broker: {bootstrap}")),
            "{text}"
        );
        assert!(text.contains("in memory only"), "{text}");
        assert!(text.contains("Embedded Kafka broker stopped."), "{text}");
        assert!(
            TcpStream::connect(&bootstrap).is_err(),
            "the broker is stopped with Updraft"
        );
        bootstraps.push(bootstrap);
    }
    assert_ne!(
        bootstraps[0], bootstraps[1],
        "a new port, and the connection follows it"
    );
}

// Invariant: a user's own kafka_default is never replaced by the embedded
// broker.
#[tokio::test]
async fn standalone_leaves_a_users_kafka_connection_alone() {
    let u = support::Updraft::new().await;
    u.ok(&[
        "connections",
        "add",
        "kafka_default",
        "--conn-uri",
        "kafka://?bootstrap.servers=mine%3A9092",
    ]);
    let mut s = Standalone::start(&u);
    s.wait_for("Scheduler and a worker pool");
    let (status, text) = s.stop();
    assert!(status.success(), "{status}\n{text}");
    assert!(
        text.contains("Kafka: tasks use the kafka_default connection from the database."),
        "{text}"
    );
    assert!(!text.contains("Embedded Kafka broker"), "{text}");
    let extra: Vec<u8> =
        sqlx::query_scalar("SELECT extra FROM connection WHERE conn_id = 'kafka_default'")
            .fetch_one(&u.db.pool)
            .await
            .expect("kafka_default");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&extra).expect("json"),
        json!({"bootstrap.servers": "mine:9092"})
    );
}
