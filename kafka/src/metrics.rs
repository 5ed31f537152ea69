//! Kafka counters through the `metrics` facade: the process's exporter
//! (Prometheus `/metrics`, issue 6) publishes them; until one is installed
//! they cost next to nothing. Operators also write their figures to the task
//! log.

/// A delivery report for `topic`: produced, or a delivery error.
pub fn delivered(topic: &str, ok: bool) {
    let name = if ok {
        "updraft_kafka_messages_produced_total"
    } else {
        "updraft_kafka_delivery_errors_total"
    };
    metrics::counter!(name, "topic" => topic.to_owned()).increment(1);
}

/// `n` messages consumed from `topic`.
pub fn consumed(topic: &str, n: u64) {
    metrics::counter!("updraft_kafka_messages_consumed_total", "topic" => topic.to_owned())
        .increment(n);
}

/// A consumer group's lag on one partition, when it stopped reading.
pub fn lag(group: &str, topic: &str, partition: i32, lag: i64) {
    metrics::gauge!("updraft_kafka_consumer_lag", "group" => group.to_owned(),
        "topic" => topic.to_owned(), "partition" => partition.to_string())
    .set(lag as f64);
}
