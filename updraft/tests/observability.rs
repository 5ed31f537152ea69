//! Observability through the real binary: `/metrics` counters moving during
//! and after a run, spans of a run received by a loopback OTLP/HTTP
//! collector stand-in, `/health` following the scheduler's heartbeat, and
//! JSON process logs.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use support::browser::{Server, free_port};
use support::http::http;
use support::{Running, Updraft, run_end};
use updraft_core::store::health::{self, Status, Thresholds};
use updraft_core::store::jobs::{self, JobType};

/// Two bash tasks, `a >> b`; `a` sleeps so a scrape can land mid-run.
const DAG: &str = r#"from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG(dag_id="obs", schedule=None):
    BashOperator(task_id="a", bash_command="sleep 2") >> BashOperator(task_id="b", bash_command="true")
"#;

/// The value of the sample `name{labels}` in a Prometheus text page (labels
/// in any order), `None` when absent.
fn sample(page: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            if metric != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            if all { value.parse().ok() } else { None }
        })
}

fn scrape(port: u16) -> String {
    let reply = http(port, "GET", "/metrics", "", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "Prometheus text format"
    );
    reply.body
}

/// Polls `f` every 200 ms until it returns `Some`, for up to `secs`.
fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

// Invariant: `/metrics` of a standalone process shows the scheduler beating
// during a run, and the run's task and run counters after it.
#[tokio::test]
async fn metrics_move_during_and_after_a_run() {
    let port = free_port();
    let u = Updraft::new()
        .await
        .env("UPDRAFT__WEBSERVER__PORT", &port.to_string());
    u.write_dag("obs.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "obs"]);
    let server = Server::start(u.command(&["standalone"]));
    let port = server.port();
    u.ok(&["dags", "trigger", "obs", "--run-id", "m1"]);

    // During the run: a is running (it sleeps), the scheduler has beaten.
    let during = wait_for(60, || {
        let page = scrape(port);
        sample(
            &page,
            "airflow_ti_start",
            &[("dag_id", "obs"), ("task_id", "a")],
        )
        .map(|_| page)
    })
    .expect("a started");
    let beats_during = sample(&during, "airflow_scheduler_heartbeat", &[]).expect("heartbeat");
    assert!(beats_during >= 1.0, "{during}");
    assert_eq!(
        sample(&during, "airflow_ti_finish", &[("task_id", "b")]),
        None,
        "b has not run yet:\n{during}"
    );
    assert!(
        sample(
            &during,
            "airflow_pool_open_slots",
            &[("pool", "default_pool")]
        )
        .is_some(),
        "pool gauge:\n{during}"
    );
    assert!(
        sample(&during, "airflow_dag_processing_total_parse_time", &[]).is_some(),
        "{during}"
    );

    assert_eq!(run_end(&u.db.pool, "m1").await, "success");
    let after = wait_for(20, || {
        let page = scrape(port);
        sample(
            &page,
            "airflow_dagrun_duration_success_count",
            &[("dag_id", "obs")],
        )
        .map(|_| page)
    })
    .expect("the run's duration is recorded");
    for task in ["a", "b"] {
        assert_eq!(
            sample(
                &after,
                "airflow_ti_finish",
                &[("dag_id", "obs"), ("task_id", task), ("state", "success")]
            ),
            Some(1.0),
            "{task}:\n{after}"
        );
    }
    assert_eq!(
        sample(
            &after,
            "airflow_dagrun_duration_success_count",
            &[("dag_id", "obs")]
        ),
        Some(1.0)
    );
    // a slept 2 s, so the run took at least that.
    let total = sample(
        &after,
        "airflow_dagrun_duration_success_sum",
        &[("dag_id", "obs")],
    )
    .expect("sum");
    assert!(total >= 2.0, "run duration {total}");
    // One process, every component: all of them beat.
    let health: serde_json::Value =
        serde_json::from_str(&http(port, "GET", "/health", "", "").body).expect("JSON");
    assert_eq!(health["scheduler"]["status"], "healthy", "{health}");
    assert_eq!(health["dag_processor"]["status"], "healthy", "{health}");
    assert_eq!(health["workers"]["status"], "healthy", "{health}");
    assert_eq!(health["workers"]["alive"], 1, "{health}");
    let beats_after = wait_for(15, || {
        sample(&scrape(port), "airflow_scheduler_heartbeat", &[]).filter(|b| *b > beats_during)
    });
    assert!(beats_after.is_some(), "the heartbeat counter moves on");
    drop(server);
}

/// A loopback OTLP/HTTP receiver: every `POST /v1/traces` body, decoded.
fn otlp_receiver() -> (u16, Arc<Mutex<Vec<ExportTraceServiceRequest>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                loop {
                    let mut head = Vec::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push(line.trim_end().to_owned());
                    }
                    let len: usize = head
                        .iter()
                        .find_map(|h| {
                            let (k, v) = h.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    if head
                        .first()
                        .is_some_and(|h| h.starts_with("POST /v1/traces"))
                        && let Ok(req) = ExportTraceServiceRequest::decode(body.as_slice())
                    {
                        sink.lock().expect("lock").push(req);
                    }
                    let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\n\
                                 content-length: 0\r\n\r\n";
                    if stream.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, got)
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            AnyValue::IntValue(i) => Some(i.to_string()),
            other => Some(format!("{other:?}")),
        })
}

/// Every span received, with its service name.
fn spans(got: &Mutex<Vec<ExportTraceServiceRequest>>) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    for req in got.lock().expect("lock").iter() {
        for rs in &req.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    AnyValue::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for ss in &rs.scope_spans {
                out.extend(ss.spans.iter().map(|s| (service.clone(), s.clone())));
            }
        }
    }
    out
}

// Invariant: a run is one trace across processes: the scheduler's run span
// is the parent of the worker's try spans, which hold the try's phases.
#[tokio::test]
async fn a_run_is_one_trace_across_scheduler_and_worker() {
    let (otlp_port, got) = otlp_receiver();
    let endpoint = format!("http://127.0.0.1:{otlp_port}");
    let u = Updraft::new()
        .await
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100");
    u.write_dag("obs.py", DAG);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "obs"]);
    u.ok(&["dags", "trigger", "obs", "--run-id", "t1"]);
    let running = Running::start(&u, 2, 30);
    assert_eq!(run_end(&u.db.pool, "t1").await, "success");
    drop(running); // SIGTERM: both processes flush what they hold
    let all = wait_for(30, || {
        let s = spans(&got);
        s.iter()
            .any(|(_, s)| s.name == "dag_run obs")
            .then_some(s)
            .filter(|s| {
                s.iter()
                    .filter(|(_, s)| s.name.starts_with("task "))
                    .count()
                    >= 2
            })
    })
    .unwrap_or_else(|| panic!("no complete trace: {:#?}", spans(&got)));

    assert!(all.iter().all(|(service, _)| service == "updraft"));
    let run = &all
        .iter()
        .find(|(_, s)| s.name == "dag_run obs")
        .expect("run")
        .1;
    assert!(run.parent_span_id.is_empty(), "the run span is the root");
    assert_eq!(attr(run, "airflow.run_id").as_deref(), Some("t1"));
    assert_eq!(attr(run, "airflow.state").as_deref(), Some("success"));
    let by_id: HashMap<Vec<u8>, &Span> = all.iter().map(|(_, s)| (s.span_id.clone(), s)).collect();
    for task in ["a", "b"] {
        let span = &all
            .iter()
            .find(|(_, s)| s.name == format!("task {task}"))
            .unwrap_or_else(|| panic!("span of {task}"))
            .1;
        assert_eq!(span.trace_id, run.trace_id, "{task} is in the run's trace");
        assert_eq!(span.parent_span_id, run.span_id, "{task} hangs off the run");
        assert_eq!(attr(span, "airflow.task_id").as_deref(), Some(task));
        assert_eq!(attr(span, "airflow.try_number").as_deref(), Some("1"));
        assert_eq!(attr(span, "airflow.map_index").as_deref(), Some("-1"));
        assert_eq!(
            attr(span, "airflow.operator").as_deref(),
            Some("BashOperator")
        );
        assert_eq!(attr(span, "airflow.state").as_deref(), Some("success"));
        assert!(span.start_time_unix_nano >= run.start_time_unix_nano);
        // The run ends (scheduler clock) once the try's final write commits,
        // a moment before the worker closes the span: allow that moment.
        assert!(span.end_time_unix_nano <= run.end_time_unix_nano + 1_000_000_000);
        let phases: Vec<&str> = all
            .iter()
            .filter(|(_, s)| s.parent_span_id == span.span_id)
            .map(|(_, s)| s.name.as_str())
            .collect();
        for phase in ["prepare", "execute", "store"] {
            assert!(phases.contains(&phase), "{task}: {phases:?}");
        }
    }
    // Every span's parent is a span of the same trace (no dangling ones).
    for (_, s) in &all {
        if !s.parent_span_id.is_empty() {
            let parent = by_id
                .get(&s.parent_span_id)
                .unwrap_or_else(|| panic!("{}", s.name));
            assert_eq!(parent.trace_id, s.trace_id);
        }
    }
    // `a` sleeps 2 s: its execute phase shows it.
    let a = &all.iter().find(|(_, s)| s.name == "task a").expect("a").1;
    let exec = &all
        .iter()
        .find(|(_, s)| s.name == "execute" && s.parent_span_id == a.span_id)
        .expect("execute")
        .1;
    assert!(exec.end_time_unix_nano - exec.start_time_unix_nano >= 2_000_000_000);
}

// Invariant: `/health` says healthy while the scheduler beats, and not once
// it stopped; the database status is real.
#[tokio::test]
async fn health_follows_the_scheduler_heartbeat() {
    let u = Updraft::new().await;
    let server = Server::start(u.command(&["webserver", "--port", "0"]));
    let port = server.port();
    let get = || {
        let reply = http(port, "GET", "/health", "", "");
        assert_eq!(reply.status, 200);
        serde_json::from_str::<serde_json::Value>(&reply.body).expect("JSON")
    };
    let before = get();
    assert_eq!(before["metadatabase"]["status"], "healthy");
    assert!(before["scheduler"]["status"].is_null(), "{before}");
    assert!(before["triggerer"]["latest_triggerer_heartbeat"].is_null());

    let metrics_port = free_port().to_string();
    let mut scheduler = u
        .command(&["scheduler", "--metrics-port", &metrics_port])
        .spawn()
        .expect("scheduler");
    let during = wait_for(60, || {
        let h = get();
        (h["scheduler"]["status"] == "healthy").then_some(h)
    })
    .expect("the scheduler becomes healthy");
    // Each process has its own registry: the scheduler's beats show on its
    // own `--metrics-port`, not on the webserver's `/metrics`.
    let metrics_port: u16 = metrics_port.parse().expect("port");
    let beats = wait_for(10, || {
        sample(&scrape(metrics_port), "airflow_scheduler_heartbeat", &[])
    });
    assert!(beats.is_some_and(|b| b >= 1.0));
    assert_eq!(
        sample(&scrape(port), "airflow_scheduler_heartbeat", &[]),
        None
    );
    let beat: chrono::DateTime<Utc> =
        serde_json::from_value(during["scheduler"]["latest_scheduler_heartbeat"].clone())
            .expect("a timestamp");
    assert!((Utc::now() - beat).num_seconds() < 30);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &scheduler.id().to_string()])
        .status();
    let _ = scheduler.wait();
    let after = get();
    assert_eq!(after["scheduler"]["status"], "unhealthy", "{after}");

    // The DAG processor beats too, and measures its parse time on its port.
    assert!(after["dag_processor"]["status"].is_null(), "{after}");
    let processor_port = free_port();
    let mut processor = u
        .command(&[
            "dag-processor",
            "--metrics-port",
            &processor_port.to_string(),
        ])
        .spawn()
        .expect("dag-processor");
    let healthy = wait_for(60, || {
        (get()["dag_processor"]["status"] == "healthy").then_some(())
    });
    let parse_time = wait_for(30, || {
        sample(
            &scrape(processor_port),
            "airflow_dag_processing_total_parse_time",
            &[],
        )
    });
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &processor.id().to_string()])
        .status();
    let _ = processor.wait();
    assert!(healthy.is_some(), "the DAG processor becomes healthy");
    assert!(parse_time.is_some_and(|t| t >= 0.0));
    drop(server);
}

// Invariant: a heartbeat older than the threshold is unhealthy, a fresh one
// healthy; components that never ran are null.
#[tokio::test]
async fn health_reads_heartbeats_against_thresholds() {
    let u = Updraft::new().await;
    let pool = &u.db.pool;
    let mut conn = pool.acquire().await.expect("conn");
    let id = jobs::register(&mut conn, JobType::Scheduler, "h", 1)
        .await
        .expect("register");
    let limits = Thresholds::default();
    let fresh = health::check(pool, &limits, Utc::now()).await;
    assert_eq!(fresh.scheduler.status, Some(Status::Healthy));
    assert_eq!(fresh.dag_processor.status, None);
    assert_eq!(fresh.workers.status, None);
    sqlx::query("UPDATE job SET latest_heartbeat = now() - interval '5 minutes' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .expect("age the heartbeat");
    let stale = health::check(pool, &limits, Utc::now()).await;
    assert_eq!(stale.scheduler.status, Some(Status::Unhealthy));
    assert!(jobs::heartbeat(&mut conn, id).await.expect("beat"));
    let again = health::check(pool, &limits, Utc::now()).await;
    assert_eq!(again.scheduler.status, Some(Status::Healthy));
    assert!(jobs::end(&mut conn, id).await.expect("end"));
    let ended = health::check(pool, &limits, Utc::now()).await;
    assert_eq!(ended.scheduler.status, Some(Status::Unhealthy));
}

// Invariant: `UPDRAFT__LOGGING__FORMAT=json` makes every log line one JSON
// object; the default stays plain text.
#[tokio::test]
async fn json_logs_on_request() {
    let u = Updraft::new().await.env("RUST_LOG", "debug");
    let json = u
        .command(&["scheduler", "--once"])
        .env("UPDRAFT__LOGGING__FORMAT", "json")
        .output()
        .expect("run");
    assert!(json.status.success());
    let stderr = String::from_utf8_lossy(&json.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "debug logging writes something");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
    }
    let flag = u
        .command(&["--log-format", "json", "scheduler", "--once"])
        .output()
        .expect("run");
    let first = String::from_utf8_lossy(&flag.stderr);
    let first = first.lines().next().expect("a log line");
    assert!(
        serde_json::from_str::<serde_json::Value>(first).is_ok(),
        "{first}"
    );
    let text = u.command(&["scheduler", "--once"]).output().expect("run");
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(stderr.lines().any(|l| !l.trim().is_empty()));
    assert!(
        stderr
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_err()),
        "plain text by default"
    );
}

const KAFKA_DAG: &str = r#"from airflow import DAG
from airflow.providers.apache.kafka.operators.consume import ConsumeFromTopicOperator
from airflow.providers.apache.kafka.operators.produce import ProduceToTopicOperator


def produce():
    for i in range(3):
        yield (str(i), str(i))


def consume(message):
    pass


with DAG("obs_kafka", schedule=None):
    ProduceToTopicOperator(
        kafka_config_id="kafka_default", task_id="p", topic="obs_t", producer_function=produce
    ) >> ConsumeFromTopicOperator(
        kafka_config_id="kafka_default", task_id="c", topics=["obs_t"], apply_function=consume,
        commit_cadence="end_of_batch", max_messages=3,
    )
"#;

// Invariant: the Kafka operators' counters reach the same `/metrics` as
// Airflow's metrics.
#[tokio::test(flavor = "multi_thread")]
async fn kafka_counters_are_on_metrics() {
    let broker = updraft_testkit::kafka::Broker::start().expect("tansu broker");
    let bootstrap = broker.bootstrap();
    let extra = serde_json::json!({"bootstrap.servers": bootstrap, "group.id": "obs",
        "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"});
    let config =
        updraft_kafka::KafkaConfig::from_connection("t", Some("kafka"), &extra).expect("config");
    updraft_kafka::admin::create_topics(&config, &[("obs_t", 1)])
        .await
        .expect("create topic");
    let conn = serde_json::json!({"conn_type": "kafka", "extra": extra}).to_string();
    let u = Updraft::new()
        .await
        .env("AIRFLOW_CONN_KAFKA_DEFAULT", &conn)
        .env("UPDRAFT__WEBSERVER__PORT", &free_port().to_string());
    u.write_dag("obs_kafka.py", KAFKA_DAG);
    u.ok(&["dags", "reserialize"]);
    assert!(u.import_errors().is_empty(), "{:?}", u.import_errors());
    u.ok(&["dags", "unpause", "obs_kafka"]);
    let server = Server::start(u.command(&["standalone"]));
    let port = server.port();
    u.ok(&["dags", "trigger", "obs_kafka", "--run-id", "k1"]);
    assert_eq!(run_end(&u.db.pool, "k1").await, "success");
    // The lag is measured once the consumer's offsets are committed, just
    // after the try's final write: wait for it. It read to the end: no lag.
    let lag = [("group", "obs"), ("topic", "obs_t"), ("partition", "0")];
    let page = wait_for(20, || {
        let page = scrape(port);
        sample(&page, "updraft_kafka_consumer_lag", &lag).map(|_| page)
    })
    .unwrap_or_else(|| panic!("no lag gauge:\n{}", scrape(port)));
    assert_eq!(sample(&page, "updraft_kafka_consumer_lag", &lag), Some(0.0));
    let topic = [("topic", "obs_t")];
    assert_eq!(
        sample(&page, "updraft_kafka_messages_produced_total", &topic),
        Some(3.0),
        "{page}"
    );
    assert_eq!(
        sample(&page, "updraft_kafka_messages_consumed_total", &topic),
        Some(3.0),
        "{page}"
    );
    drop(server);
}
