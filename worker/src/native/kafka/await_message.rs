//! AwaitMessageSensor and AwaitMessageTriggerFunctionSensor. Airflow defers
//! them to a trigger that polls the topics and calls `apply_function` on
//! each message; here the worker polls (rdkafka) and the function runs in
//! the Python task runner, a batch at a time. Every message the function
//! saw is committed; for AwaitMessageSensor the match is committed only once
//! its XCom is stored, and the messages after it in its batch are left for
//! the next reader. The try holds its worker slot while it waits (there is
//! no triggerer yet); `timeout` (provider 2.x sensors) and
//! `execution_timeout` bound it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::{Value as Json, json};
use tokio::time::Instant;
use updraft_kafka::consume::{Consumer, Message, Offsets};

use super::{codec, connection, default_group, ended_early, fail, seconds, strings};
use crate::bash_task;
use crate::dispatch::TryCtx;
use crate::native::field;
use crate::outcome::{AfterStore, Outcome};
use crate::python_runner::session::{Session, SessionEvent};
use crate::python_runner::{Mode, ResultState};
use crate::sensor::SensorSpec;
use crate::templates::SecretSet;

/// Messages handed to the apply function at a time.
const BATCH: usize = 100;

pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    let (config, secrets) = match connection(cx) {
        Ok(c) => c,
        Err(e) => return fail(cx, &SecretSet::default(), &e),
    };
    match wait(cx, &config).await {
        Ok(outcome) => outcome,
        Err(e) => fail(cx, &secrets, &e),
    }
}

async fn wait(cx: &TryCtx<'_>, config: &updraft_kafka::KafkaConfig) -> Result<Outcome, String> {
    let first_match_ends = cx.kind() == "kafka_await_message";
    let topics = strings(cx, "topics")?;
    let poll_timeout = seconds(cx, "poll_timeout", 1.0);
    let poll_interval = seconds(cx, "poll_interval", 5.0);
    let spec = cx.is_sensor().then(|| SensorSpec::from_task(&cx.task.task));
    let sensor_deadline = spec
        .as_ref()
        .map(|s| Instant::now() + Duration::from_secs_f64(s.timeout));
    let exec_deadline = bash_task::timeout(&cx.task.task).map(|d| Instant::now() + d);
    let group = config.get("group.id").is_none().then(|| default_group(cx));
    let mut consumer =
        Consumer::new(config, &topics, group.as_deref()).map_err(|e| e.to_string())?;
    cx.sink.info(&format!(
        "Waiting for a matching message on {topics:?} in group {:?}",
        consumer.group()
    ));
    let request = crate::python_task::request(cx, Mode::Kafka).await?;
    let mut session = Session::open(&request, cx.sink, &cx.prepared.secrets).await?;
    let mut seen = 0u64;
    loop {
        let now = Instant::now();
        if exec_deadline.is_some_and(|d| now >= d) {
            cx.sink
                .error("Timeout: the task ran longer than its execution_timeout");
            return Ok(Outcome::failed());
        }
        if let (Some(d), Some(s)) = (sensor_deadline, spec.as_ref())
            && now >= d
        {
            cx.sink.error(&format!(
                "Sensor has timed out; run duration of {:.0} seconds exceeded the specified timeout of {:.0}.",
                s.timeout, s.timeout
            ));
            return Ok(s.timed_out());
        }
        let batch = tokio::select! {
            b = consumer.next_batch(BATCH, poll_timeout) => b.map_err(|e| e.to_string())?,
            () = cx.lost.notified() => return Ok(Outcome::failed()),
        };
        if batch.is_empty() {
            tokio::select! {
                () = tokio::time::sleep(poll_interval) => {}
                () = cx.lost.notified() => return Ok(Outcome::failed()),
            }
            continue;
        }
        let feed = json!({"batch": batch.iter().map(codec::message_to_runner).collect::<Vec<_>>()});
        session.send(&feed).await?;
        let reply = match session.recv(cx.lost).await {
            SessionEvent::Data(r) => r,
            SessionEvent::Ended(r) => return Ok(ended_early(cx, &r)),
        };
        let done = reply
            .get("done")
            .and_then(Json::as_u64)
            .and_then(|d| usize::try_from(d).ok())
            .unwrap_or(batch.len())
            .min(batch.len());
        seen += done as u64;
        let matches = reply
            .get("matches")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let offsets = offsets_of(&batch[..done]);
        match matches.first() {
            Some(m) if first_match_ends => {
                let event = m.get(1).cloned().unwrap_or(Json::Null);
                cx.sink.info(&format!(
                    "Found a matching message after {seen} message(s); committing through it once the result is stored"
                ));
                // The session's child may be left waiting for input: end it.
                let _ = session.send(&json!({"end": true})).await;
                let r = session.finish(cx.lost).await;
                if r.state != ResultState::Success {
                    return Ok(ended_early(cx, &r));
                }
                let key = field(cx, "xcom_push_key")
                    .and_then(Json::as_str)
                    .unwrap_or(updraft_core::store::xcom::RETURN_VALUE)
                    .to_owned();
                let mut outcome = Outcome::success(None);
                outcome.xcoms.push((key, event));
                outcome.after_store = Some(commit_offsets_after_store(consumer, offsets));
                return Ok(outcome);
            }
            _ => {
                if !matches.is_empty() {
                    cx.sink.info(&format!(
                        "{} matching message(s) passed to event_triggered_function",
                        matches.len()
                    ));
                }
                // Airflow's trigger commits each message it processed.
                consumer.commit(&offsets).await.map_err(|e| e.to_string())?;
            }
        }
    }
}

/// The next offset to read per partition after `msgs`.
fn offsets_of(msgs: &[Message]) -> Offsets {
    let mut out: Offsets = BTreeMap::new();
    for m in msgs {
        let e = out.entry((m.topic.clone(), m.partition)).or_insert(0);
        *e = (*e).max(m.offset + 1);
    }
    out
}

fn commit_offsets_after_store(consumer: Consumer, offsets: Offsets) -> AfterStore {
    let consumer = Arc::new(consumer);
    let offsets = Arc::new(offsets);
    AfterStore::new(move || {
        let (consumer, offsets) = (Arc::clone(&consumer), Arc::clone(&offsets));
        async move {
            consumer
                .commit(&offsets)
                .await
                .map(|()| "Committed the offsets through the matching message".to_owned())
                .map_err(|e| format!("{e}: the matching message will be read again"))
        }
        .boxed()
    })
}
