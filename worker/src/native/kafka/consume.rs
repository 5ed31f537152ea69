//! Consuming: ConsumeFromTopicOperator (each message, or each batch, goes to
//! the user's `apply_function` / `apply_function_batch` in the Python task
//! runner) and the article's KafkaConsumeOperator (the messages, decoded,
//! are its XCom so the next task can pull them).
//!
//! Reads until `max_messages`, or until the end of the log on every
//! assigned partition, or until nothing came for `poll_timeout`. Offsets are
//! committed by `commit_cadence`: `end_of_batch` after each batch's function
//! returned (Airflow's semantics), `end_of_operator` only once the try's
//! result is stored ([`AfterStore`]), `never` not at all. A crash before the
//! commit redelivers the messages to the next try or run; none is lost.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::{Value as Json, json};
use updraft_kafka::consume::{Consumer, Offsets};

use super::{codec, connection, count, default_group, ended_early, fail, flag, seconds, strings};
use crate::dispatch::TryCtx;
use crate::failpoint;
use crate::native::field;
use crate::outcome::{AfterStore, Outcome};
use crate::python_runner::session::{Session, SessionEvent};
use crate::python_runner::{Mode, ResultState};
use crate::templates::SecretSet;

/// Airflow's `VALID_COMMIT_CADENCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cadence {
    Never,
    EndOfBatch,
    EndOfOperator,
}

pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    let (config, secrets) = match connection(cx) {
        Ok(c) => c,
        Err(e) => return fail(cx, &SecretSet::default(), &e),
    };
    match consume(cx, &config, &secrets).await {
        Ok(outcome) => outcome,
        Err(e) => fail(cx, &secrets, &e),
    }
}

async fn consume(
    cx: &TryCtx<'_>,
    config: &updraft_kafka::KafkaConfig,
    secrets: &SecretSet,
) -> Result<Outcome, String> {
    let article = cx.kind() == "kafka_consume";
    let topics = strings(cx, "topics")?;
    let cadence = match field(cx, "commit_cadence").and_then(Json::as_str) {
        None | Some("end_of_operator") => Cadence::EndOfOperator,
        Some("end_of_batch") => Cadence::EndOfBatch,
        Some("never") => Cadence::Never,
        Some(other) => {
            return Err(format!(
                "commit_cadence must be one of ['end_of_batch', 'end_of_operator', 'never']. Got {other}"
            ));
        }
    };
    let max_messages = count(cx, "max_messages")?;
    let max_batch = count(cx, "max_batch_size")?.unwrap_or(1000).max(1);
    let poll_timeout = seconds(cx, "poll_timeout", if article { 5.0 } else { 60.0 });
    let with_function =
        field(cx, "apply_function").is_some() || field(cx, "apply_function_batch").is_some();
    let want_results = flag(cx, "return_apply_function_results", false);
    let group = field(cx, "group_id")
        .and_then(Json::as_str)
        .map(str::to_owned);
    let group = match (group, config.get("group.id")) {
        (Some(g), _) => Some(g),
        (None, Some(_)) => None,
        (None, None) => {
            let g = default_group(cx);
            cx.sink.info(&format!(
                "The connection sets no group.id: consuming in group {g:?}"
            ));
            Some(g)
        }
    };
    if config.get("enable.auto.commit") == Some("true") {
        cx.sink.info(
            "enable.auto.commit is ignored: Updraft commits offsets itself, after the task's result is stored",
        );
    }
    let mut consumer =
        Consumer::new(config, &topics, group.as_deref()).map_err(|e| e.to_string())?;
    cx.sink.info(&format!(
        "Consuming from {topics:?} in group {:?} (commit_cadence={cadence:?}, max_messages={}, max_batch_size={max_batch})",
        consumer.group(),
        max_messages.map_or("None".to_owned(), |m| m.to_string()),
    ));
    let mut session = if with_function {
        let request = crate::python_task::request(cx, Mode::Kafka).await?;
        Some(Session::open(&request, cx.sink, &cx.prepared.secrets).await?)
    } else {
        None
    };
    let started = std::time::Instant::now();
    let (mut total, mut messages, mut results) = (0u64, Vec::new(), Vec::new());
    // Batches sent to the apply function whose reply has not come yet (the
    // offsets after each): the next batch is read and sent while the
    // function works on the previous one.
    let mut in_flight: VecDeque<Offsets> = VecDeque::new();
    let mut done_through = Offsets::new();
    let mut exhausted = false;
    loop {
        while !exhausted && in_flight.len() < IN_FLIGHT {
            let left = max_messages.map_or(max_batch, |m| m.saturating_sub(total).min(max_batch));
            let batch = if left == 0 {
                Vec::new()
            } else {
                tokio::select! {
                    b = consumer.next_batch(usize::try_from(left).unwrap_or(usize::MAX), poll_timeout) => {
                        b.map_err(|e| e.to_string())?
                    }
                    () = cx.lost.notified() => return Ok(lost()),
                }
            };
            if batch.is_empty() {
                exhausted = true;
                break;
            }
            total += batch.len() as u64;
            if article {
                messages.extend(batch.iter().map(codec::message_to_xcom));
            }
            let Some(s) = session.as_ref() else {
                // No function: the batch is done once read.
                if cadence == Cadence::EndOfBatch {
                    commit(&consumer, &offsets_after(&mut done_through, &batch)).await?;
                }
                continue;
            };
            let feed = json!({
                "batch": batch.iter().map(codec::message_to_runner).collect::<Vec<_>>(),
                "want_results": want_results,
            });
            s.send(&feed).await?;
            let mut after = done_through.clone();
            for o in in_flight.iter() {
                merge(&mut after, o);
            }
            in_flight.push_back(offsets_after(&mut after, &batch));
        }
        let (Some(s), Some(sent)) = (session.as_mut(), in_flight.pop_front()) else {
            break;
        };
        match s.recv(cx.lost).await {
            SessionEvent::Data(reply) => {
                if let Some(r) = reply.get("results").and_then(Json::as_array) {
                    results.extend(r.iter().cloned());
                }
            }
            SessionEvent::Ended(r) => return Ok(ended_early(cx, &r)),
        }
        merge(&mut done_through, &sent);
        if cadence == Cadence::EndOfBatch {
            commit(&consumer, &done_through).await?;
        }
    }
    if let Some(s) = session {
        s.send(&json!({"end": true})).await?;
        let r = s.finish(cx.lost).await;
        if r.state != ResultState::Success {
            return Ok(ended_early(cx, &r));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 { total as f64 / secs } else { 0.0 };
    cx.sink.info(&format!(
        "Consumed {total} message(s) in {secs:.3} s ({rate:.0} msg/s)"
    ));
    failpoint::hit("consume_before_store");
    let xcom = if article {
        Some(Json::Array(messages))
    } else if want_results {
        Some(Json::Array(results))
    } else {
        None
    };
    let mut outcome = Outcome::success(xcom);
    outcome.after_store = Some(after_store(
        consumer,
        cadence != Cadence::Never,
        secrets.clone(),
    ));
    Ok(outcome)
}

/// Batches at the apply function at once.
const IN_FLIGHT: usize = 2;

/// `offsets` advanced past `batch`; returns the result.
fn offsets_after(offsets: &mut Offsets, batch: &[updraft_kafka::consume::Message]) -> Offsets {
    for m in batch {
        let e = offsets.entry((m.topic.clone(), m.partition)).or_insert(0);
        *e = (*e).max(m.offset + 1);
    }
    offsets.clone()
}

fn merge(into: &mut Offsets, from: &Offsets) {
    for (k, o) in from {
        let e = into.entry(k.clone()).or_insert(0);
        *e = (*e).max(*o);
    }
}

async fn commit(consumer: &Consumer, offsets: &Offsets) -> Result<(), String> {
    consumer.commit(offsets).await.map_err(|e| e.to_string())
}

/// The try lost its lease: stop without committing (the owner of the next
/// try reads the same messages).
fn lost() -> Outcome {
    Outcome::failed()
}

/// Once the outcome is stored: commits what was consumed (unless
/// `commit_cadence="never"`) and reports the group's lag per partition (the
/// lag may need broker round trips: they do not delay the task's end). The
/// consumer, and its group membership, lives until then.
pub fn after_store(consumer: Consumer, commit: bool, secrets: SecretSet) -> AfterStore {
    let consumer = Arc::new(consumer);
    AfterStore::new(move || {
        let (consumer, secrets) = (Arc::clone(&consumer), secrets.clone());
        async move {
            let offsets: Offsets = consumer.consumed().clone();
            let mut line = if !commit {
                "commit_cadence is never: no offsets committed".to_owned()
            } else if offsets.is_empty() {
                "No offsets to commit".to_owned()
            } else {
                consumer.commit(&offsets).await.map_err(|e| {
                    format!(
                        "{e}: these messages will be read again by the next consumer of the group"
                    )
                })?;
                format!("Committed offsets {}", show(&offsets))
            };
            match consumer.lag().await {
                Ok(lags) if !lags.is_empty() => {
                    let shown: Vec<String> = lags
                        .iter()
                        .map(|(t, p, l)| format!("{t}[{p}]={l}"))
                        .collect();
                    line.push_str(&format!("; consumer lag: {}", shown.join(", ")));
                }
                Ok(_) => {}
                Err(e) => line.push_str(&secrets.mask(&format!("; consumer lag unknown: {e}"))),
            }
            Ok(line)
        }
        .boxed()
    })
}

fn show(offsets: &Offsets) -> String {
    offsets
        .iter()
        .map(|((t, p), o)| format!("{t}[{p}]@{o}"))
        .collect::<Vec<_>>()
        .join(", ")
}
