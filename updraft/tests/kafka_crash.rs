//! Kafka delivery guarantees under a worker that dies at the worst moment
//! (`UPDRAFT_FAILPOINT` makes it exit there, as `kill -9` would), on a real
//! broker (tansu): no message published twice by a retried produce task,
//! none lost by a consume task.

mod support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use support::Updraft;
use support::ti::Run;
use updraft_kafka::KafkaConfig;
use updraft_testkit::kafka::Broker;

fn settings(bootstrap: &str) -> Value {
    json!({"bootstrap.servers": bootstrap, "group.id": "crash",
        "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
        "max.poll.interval.ms": "8000"})
}

async fn setup(topics: &[&str]) -> (Broker, Updraft) {
    let broker = Broker::start().expect("tansu broker");
    let bootstrap = broker.bootstrap();
    let config =
        KafkaConfig::from_connection("t", Some("kafka"), &settings(&bootstrap)).expect("config");
    let parts: Vec<(&str, i32)> = topics.iter().map(|t| (*t, 2)).collect();
    updraft_kafka::admin::create_topics(&config, &parts)
        .await
        .expect("topics");
    let conn = json!({"conn_type": "kafka", "extra": settings(&bootstrap)}).to_string();
    let u = Updraft::new()
        .await
        .env("AIRFLOW_CONN_KAFKA_DEFAULT", &conn);
    (broker, u)
}

/// A component process, killed when dropped; its output in the home.
struct Proc(Child);

impl Proc {
    fn spawn(u: &Updraft, name: &str, args: &[&str], failpoint: Option<&str>) -> Self {
        let log = std::fs::File::create(u.home.path().join(format!("{name}.log"))).expect("log");
        let mut cmd = u.command(args);
        if let Some(f) = failpoint {
            cmd.env("UPDRAFT_FAILPOINT", f);
        }
        let child = cmd
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn");
        Self(child)
    }

    /// Waits for the process to exit by itself (the failpoint); its code.
    fn exited(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// Loads `dag` (file `name`), starts a scheduler and a worker that exits at
/// `failpoint`, triggers `dag_id` and waits for that worker to exit there.
/// Returns the scheduler (kept running) and the run id.
fn run_until_failpoint(
    u: &Updraft,
    name: &str,
    dag: &str,
    dag_id: &str,
    failpoint: &str,
) -> (Proc, String) {
    u.write_dag(name, dag);
    u.ok(&["dags", "reserialize"]);
    let scheduler = Proc::spawn(u, "scheduler", &["scheduler", "--interval", "0.1"], None);
    let mut dying = Proc::spawn(u, "worker1", &["worker", "--lease", "3"], Some(failpoint));
    let run_id = trigger(u, dag_id);
    assert_eq!(
        dying.exited(Duration::from_secs(60)),
        Some(86),
        "the failpoint {failpoint} was not reached"
    );
    (scheduler, run_id)
}

fn trigger(u: &Updraft, dag_id: &str) -> String {
    u.ok(&["dags", "unpause", dag_id]);
    let run = u.json(&["dags", "trigger", dag_id, "-o", "json"]);
    let run = if run.is_array() { run[0].clone() } else { run };
    run["run_id"].as_str().expect("run_id").to_owned()
}

async fn produce(bootstrap: &str, topic: &str, n: usize, from: usize) {
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("producer");
    for i in from..from + n {
        let key = format!("m{i}");
        p.send(
            FutureRecord::to(topic).key(&key).payload(&key),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");
    }
}

/// The keys of every message on `topic`.
async fn keys(bootstrap: &str, topic: &str, partitions: usize) -> Vec<String> {
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("check-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    let (mut out, mut eofs) = (Vec::new(), 0);
    while eofs < partitions {
        match tokio::time::timeout(Duration::from_secs(20), c.recv()).await {
            Ok(Ok(m)) => {
                out.push(String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned())
            }
            Ok(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => eofs += 1,
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("no end of {topic} within 20 s"),
        }
    }
    out.sort();
    out
}

const PRODUCER_DAG: &str = r#"
from datetime import datetime, timedelta
from airflow import DAG
from airflow.providers.apache.kafka.operators.produce import ProduceToTopicOperator

def fifty():
    for i in range(50):
        yield (f"m{i}", f"value {i}")

with DAG("crash_produce", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         default_args={"retries": 1, "retry_delay": timedelta(seconds=1)}):
    ProduceToTopicOperator(task_id="produce", topic="out", producer_function=fifty,
                           synchronous=False)
"#;

// The worker dies after the broker acknowledged all 50 messages and they
// were recorded, before the try's state is written. The try is reaped and
// retried on another worker, which sends none of them again.
#[tokio::test(flavor = "multi_thread")]
async fn retried_produce_does_not_publish_twice() {
    let (broker, u) = setup(&["out"]).await;
    let (_scheduler, run_id) = run_until_failpoint(
        &u,
        "crash_produce.py",
        PRODUCER_DAG,
        "crash_produce",
        "produce_recorded",
    );
    let _worker = Proc::spawn(&u, "worker2", &["worker", "--lease", "3"], None);
    let state = support::run_end(&u.db.pool, &run_id).await;
    let r = Run {
        dag_id: "crash_produce",
        run_id: &run_id,
    };
    let log = r.log(&u.db.pool, "produce", false).await;
    assert_eq!(state, "success", "{log}");
    assert!(
        log.contains("50 message(s) of this task were delivered by an earlier try"),
        "{log}"
    );
    let mut want: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    want.sort();
    assert_eq!(
        keys(&broker.bootstrap(), "out", 2).await,
        want,
        "each message exactly once"
    );
}

const CONSUMER_DAG: &str = r#"
from datetime import datetime, timedelta
from airflow import DAG
from airflow.providers.apache.kafka.operators.kafka_consume import KafkaConsumeOperator

with DAG("crash_consume", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         default_args={"retries": 1, "retry_delay": timedelta(seconds=1)}):
    KafkaConsumeOperator(task_id="consume", topics=["in"], poll_timeout=2)
"#;

fn xcom_keys(v: Option<Value>) -> Vec<String> {
    let mut k: Vec<String> = v
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["key"].as_str().map(str::to_owned))
        .collect();
    k.sort();
    k
}

// The worker dies after reading the messages, before the result is
// stored: the retry reads the same messages (none was committed).
#[tokio::test(flavor = "multi_thread")]
async fn consume_crash_before_the_result_redelivers() {
    let (broker, u) = setup(&["in"]).await;
    produce(&broker.bootstrap(), "in", 5, 0).await;
    let (_scheduler, run_id) = run_until_failpoint(
        &u,
        "crash_consume.py",
        CONSUMER_DAG,
        "crash_consume",
        "consume_before_store",
    );
    let _worker = Proc::spawn(&u, "worker2", &["worker", "--lease", "3"], None);
    let r = Run {
        dag_id: "crash_consume",
        run_id: &run_id,
    };
    let state = support::run_end(&u.db.pool, &run_id).await;
    assert_eq!(
        state,
        "success",
        "{}",
        r.log(&u.db.pool, "consume", false).await
    );
    let got = xcom_keys(r.xcom(&u.db.pool, "consume", "return_value").await);
    if got.len() != 5 {
        let log = broker.log();
        let tail: Vec<&str> = log.lines().rev().take(80).collect();
        eprintln!(
            "broker log tail:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    assert_eq!(
        got,
        ["m0", "m1", "m2", "m3", "m4"],
        "{}",
        r.log(&u.db.pool, "consume", false).await
    );
}

// The worker dies after the result is stored, before the offsets are
// committed: the run succeeded with the messages in its XCom, and the next
// run reads them again (redelivered, not lost), then commits.
#[tokio::test(flavor = "multi_thread")]
async fn consume_crash_before_the_commit_redelivers() {
    let (broker, u) = setup(&["in"]).await;
    produce(&broker.bootstrap(), "in", 5, 0).await;
    let (_scheduler, first) = run_until_failpoint(
        &u,
        "crash_consume.py",
        CONSUMER_DAG,
        "crash_consume",
        "stored_before_after_store",
    );
    assert_eq!(support::run_end(&u.db.pool, &first).await, "success");
    let xcom = |run_id: String| {
        let pool = u.db.pool.clone();
        async move {
            let r = Run {
                dag_id: "crash_consume",
                run_id: &run_id,
            };
            xcom_keys(r.xcom(&pool, "consume", "return_value").await)
        }
    };
    assert_eq!(xcom(first).await, ["m0", "m1", "m2", "m3", "m4"]);

    produce(&broker.bootstrap(), "in", 1, 5).await;
    let _worker = Proc::spawn(&u, "worker2", &["worker", "--lease", "3"], None);
    let second = trigger(&u, "crash_consume");
    assert_eq!(support::run_end(&u.db.pool, &second).await, "success");
    assert_eq!(xcom(second).await, ["m0", "m1", "m2", "m3", "m4", "m5"]);
    let third = trigger(&u, "crash_consume");
    assert_eq!(support::run_end(&u.db.pool, &third).await, "success");
    assert_eq!(
        xcom(third).await,
        Vec::<String>::new(),
        "committed after the second run"
    );
}
