//! The Kafka provider's operators, run natively with rdkafka
//! (`updraft-kafka`): produce ([`produce`]: ProduceToTopicOperator and the
//! article's KafkaProduceOperator), consume ([`consume`]:
//! ConsumeFromTopicOperator and KafkaConsumeOperator) and the await-message
//! sensors ([`await_message`]). User functions (`producer_function`,
//! `apply_function`…) run in the Python task runner, in one session per try
//! that exchanges batches with the Rust side; plain values and templates are
//! produced by Rust alone. See docs/kafka.md for the delivery guarantees.

pub mod await_message;
pub mod codec;
pub mod consume;
pub mod produce;

use std::time::Duration;

use serde_json::Value as Json;
use updraft_kafka::KafkaConfig;

use super::field;
use crate::dispatch::TryCtx;
use crate::outcome::Outcome;
use crate::templates::SecretSet;

/// The task's Kafka connection (`kafka_config_id`, default `kafka_default`)
/// as client settings, and its secrets for masking.
pub fn connection(cx: &TryCtx<'_>) -> Result<(KafkaConfig, SecretSet), String> {
    let conn_id = field(cx, "kafka_config_id")
        .and_then(Json::as_str)
        .unwrap_or("kafka_default");
    let Some(conn) = cx.prepared.data.connections.get(conn_id) else {
        return Err(format!(
            "The conn_id `{conn_id}` isn't defined: add a connection of type kafka whose extra \
             holds librdkafka settings, e.g. `updraft connections add {conn_id} --conn-type kafka \
             --conn-extra '{{\"bootstrap.servers\": \"host:9092\", \"group.id\": \"my-group\"}}'`, \
             or set AIRFLOW_CONN_{}",
            conn_id.to_uppercase()
        ));
    };
    let config = KafkaConfig::from_connection(conn_id, conn.conn_type.as_deref(), &conn.extra)
        .map_err(|e| e.to_string())?;
    let mut secrets = SecretSet::default();
    secrets.add_connection(conn);
    Ok((config, secrets))
}

/// A field as a list of strings (`topics`: one string or a list).
pub fn strings(cx: &TryCtx<'_>, name: &str) -> Result<Vec<String>, String> {
    match field(cx, name) {
        Some(Json::String(s)) => Ok(vec![s.clone()]),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{name}: expected strings, got {v}"))
            })
            .collect(),
        Some(other) => Err(format!("{name}: expected a string or a list, got {other}")),
        None => Err(format!("{name} is required")),
    }
}

/// A number of seconds (`poll_timeout`…), `default` when unset.
pub fn seconds(cx: &TryCtx<'_>, name: &str, default: f64) -> Duration {
    let s = field(cx, name).and_then(Json::as_f64).unwrap_or(default);
    Duration::from_secs_f64(if s.is_finite() { s.max(0.0) } else { default })
}

/// A count (`max_messages`…): `None` when unset or null.
pub fn count(cx: &TryCtx<'_>, name: &str) -> Result<Option<u64>, String> {
    match field(cx, name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{name}: expected a non-negative whole number, got {v}")),
    }
}

pub fn flag(cx: &TryCtx<'_>, name: &str, default: bool) -> bool {
    field(cx, name).and_then(Json::as_bool).unwrap_or(default)
}

/// Logs `msg` masked, and fails the try.
pub fn fail(cx: &TryCtx<'_>, secrets: &SecretSet, msg: &str) -> Outcome {
    cx.sink.error(&secrets.mask(msg));
    Outcome::failed()
}

/// The Python side of a session ended before the worker said `end`: its
/// exception (skip, fail, failure without retry) decides, as for any Python
/// task; an early success is a failure here (messages were left unprocessed).
pub fn ended_early(cx: &TryCtx<'_>, r: &crate::python_runner::TaskResult) -> Outcome {
    if r.state == crate::python_runner::ResultState::Success {
        cx.sink
            .error("the Kafka task's Python side ended before its last batch");
        return Outcome::failed();
    }
    crate::python_task::ended(cx, r)
}

/// A consumer group for a task whose connection names none: one per task,
/// so that each task reads every message once.
pub fn default_group(cx: &TryCtx<'_>) -> String {
    format!("updraft.{}.{}", cx.ti.dag_id, cx.ti.task_id)
}
