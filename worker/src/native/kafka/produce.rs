//! Producing: ProduceToTopicOperator (the records come from the user's
//! `producer_function`, run in the Python task runner and streamed here in
//! batches) and the article's KafkaProduceOperator (one message from its
//! rendered `value`, `key` and `headers`, produced by Rust alone).
//!
//! Every message is numbered in the order it is yielded. What the broker
//! acknowledged is recorded (`kafka_delivery`) while producing and before
//! the try's state is written, and a later try of the same task instance
//! skips those numbers: a retry after a crash or a failure does not publish
//! again what was delivered. The one window left is a crash between the
//! broker's acknowledgement and its record (at most [`PERSIST_EVERY`] plus
//! one write): those messages are sent again (at least once).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use updraft_core::store::kafka_deliveries;
use updraft_kafka::produce::{Delivery, Producer, Record};
use updraft_kafka::seq_ranges::SeqRanges;

use super::{codec, connection, fail, flag};
use crate::dispatch::TryCtx;
use crate::failpoint;
use crate::native::field;
use crate::outcome::Outcome;
use crate::python_runner::session::{Session, SessionEvent};
use crate::python_runner::{Mode, ResultState};
use crate::templates::SecretSet;

/// How often acknowledged messages are recorded while producing.
pub const PERSIST_EVERY: Duration = Duration::from_millis(250);
/// How long to wait for the topic's metadata.
const METADATA_TIMEOUT: Duration = Duration::from_secs(15);
/// Delivery errors shown in the log (the rest are counted).
const ERRORS_SHOWN: usize = 5;

pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    let (config, secrets) = match connection(cx) {
        Ok(c) => c,
        Err(e) => return fail(cx, &SecretSet::default(), &e),
    };
    let Some(topic) = field(cx, "topic").and_then(Json::as_str).map(str::to_owned) else {
        return fail(cx, &secrets, "topic is required and must be a string");
    };
    let mut producer = match Producer::new(&config) {
        Ok(p) => p,
        Err(e) => return fail(cx, &secrets, &e.to_string()),
    };
    if let Err(e) = producer.partitions(&topic, METADATA_TIMEOUT).await {
        return fail(cx, &secrets, &e.to_string());
    }
    let earlier = match earlier_deliveries(cx).await {
        Ok(r) => r,
        Err(e) => return fail(cx, &secrets, &e),
    };
    if !earlier.is_empty() {
        cx.sink.info(&format!(
            "{} message(s) of this task were delivered by an earlier try; they are not sent again",
            earlier.count()
        ));
    }
    let mut t = Tracker::new(cx, &topic, earlier);
    let sent = if cx.kind() == "kafka_produce" {
        one_message(cx, &mut producer, &mut t).await
    } else {
        from_python(cx, &mut producer, &mut t).await
    };
    // Whatever happened, every message queued gets its report and is recorded.
    while let Some(d) = producer.next_delivery().await {
        t.add(d);
    }
    let recorded = t.persist().await;
    t.log_summary();
    if let Err(e) = recorded {
        return fail(cx, &secrets, &format!("recording the deliveries: {e}"));
    }
    if let Err(e) = sent {
        return fail(cx, &secrets, &e);
    }
    if !t.errors.is_empty() {
        return fail(
            cx,
            &secrets,
            &format!("{} message(s) were not delivered", t.errors.len()),
        );
    }
    failpoint::hit("produce_recorded");
    if cx.kind() == "kafka_produce" {
        Outcome::success(Some(t.single_xcom()))
    } else {
        // Upstream's ProduceToTopicOperator pushes no XCom.
        Outcome::success(None)
    }
}

async fn earlier_deliveries(cx: &TryCtx<'_>) -> Result<SeqRanges, String> {
    let mut conn = cx.conn().await?;
    let rows = kafka_deliveries::delivered(&mut conn, cx.ti.id)
        .await
        .map_err(|e| format!("reading earlier deliveries: {e}"))?;
    Ok(SeqRanges::from_ranges(rows.into_iter().filter_map(
        |(a, b)| Some((u64::try_from(a).ok()?, u64::try_from(b).ok()?)),
    )))
}

/// KafkaProduceOperator: `value` (and `key`, `headers`) rendered, as one
/// message. Text is sent as UTF-8; other JSON values as their JSON text.
async fn one_message(
    cx: &TryCtx<'_>,
    producer: &mut Producer,
    t: &mut Tracker<'_>,
) -> Result<(), String> {
    let bytes = |name: &str| -> Option<Vec<u8>> {
        match field(cx, name)? {
            Json::String(s) => Some(s.clone().into_bytes()),
            other => Some(other.to_string().into_bytes()),
        }
    };
    let headers = match field(cx, "headers") {
        None => Vec::new(),
        Some(Json::Object(m)) => m.iter().map(|(k, v)| (k.clone(), header(v))).collect(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([Json::String(k), v]) => Ok((k.clone(), header(v))),
                _ => Err(format!("headers: expected (name, value) pairs, got {pair}")),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("headers: expected a dict or pairs, got {other}")),
    };
    let record = Record {
        key: bytes("key"),
        value: bytes("value"),
        headers,
    };
    t.single = Some(record.clone());
    if t.earlier.contains(0) {
        t.skipped += 1;
        return Ok(());
    }
    let mut done = Vec::new();
    producer
        .send(&t.topic, 0, &record, &mut done)
        .await
        .map_err(|e| e.to_string())?;
    t.add_all(done);
    Ok(())
}

fn header(v: &Json) -> Option<Vec<u8>> {
    match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone().into_bytes()),
        other => Some(other.to_string().into_bytes()),
    }
}

/// ProduceToTopicOperator: batches of records from the producer function,
/// acknowledged one by one so the function never runs far ahead.
async fn from_python(
    cx: &TryCtx<'_>,
    producer: &mut Producer,
    t: &mut Tracker<'_>,
) -> Result<(), String> {
    let synchronous = flag(cx, "synchronous", true);
    let callback = field(cx, "delivery_callback").is_some();
    let request = crate::python_task::request(cx, Mode::Kafka).await?;
    let mut session = Session::open(&request, cx.sink, &cx.prepared.secrets).await?;
    let mut seq: u64 = 0;
    loop {
        let line = match session.recv(cx.lost).await {
            SessionEvent::Data(line) => line,
            SessionEvent::Ended(result) => {
                return match result.state {
                    ResultState::Success => Ok(()),
                    _ => Err(result.message),
                };
            }
        };
        let records = codec::records_from_runner(&line)?;
        let first = seq;
        let mut done = Vec::new();
        for record in &records {
            if t.earlier.contains(seq) {
                t.skipped += 1;
            } else {
                producer
                    .send(&t.topic, seq, record, &mut done)
                    .await
                    .map_err(|e| e.to_string())?;
                if synchronous {
                    // Airflow flushes after each message when synchronous.
                    while let Some(d) = producer.next_delivery().await {
                        done.push(d);
                    }
                }
            }
            seq += 1;
        }
        let mut ack = json!({"ack": records.len()});
        if callback {
            while let Some(d) = producer.next_delivery().await {
                done.push(d);
            }
            ack["reports"] = reports(&t.topic, first, &records, &done);
        }
        producer.ready(&mut done);
        t.add_all(done);
        if t.last_persist.elapsed() >= PERSIST_EVERY {
            t.persist().await?;
        }
        session.send(&ack).await?;
    }
}

/// Delivery reports of one batch for the task's `delivery_callback`.
fn reports(topic: &str, first: u64, records: &[Record], done: &[Delivery]) -> Json {
    let mut out = Vec::new();
    for d in done {
        let Some(r) = d
            .seq
            .checked_sub(first)
            .and_then(|i| records.get(usize::try_from(i).ok()?))
        else {
            continue;
        };
        let (err, partition, offset) = match &d.result {
            Ok((p, o)) => (Json::Null, json!(p), json!(o)),
            Err(e) => (json!(e), Json::Null, Json::Null),
        };
        out.push(
            json!({"err": err, "topic": topic, "partition": partition, "offset": offset,
            "key": codec::b64(r.key.as_deref()), "value": codec::b64(r.value.as_deref())}),
        );
    }
    Json::Array(out)
}

/// What this try delivered, and what is recorded of it.
struct Tracker<'a> {
    cx: &'a TryCtx<'a>,
    topic: String,
    earlier: SeqRanges,
    ok: SeqRanges,
    recorded: SeqRanges,
    errors: Vec<(u64, String)>,
    skipped: u64,
    /// Per partition: first and last offset written.
    offsets: BTreeMap<i32, (i64, i64)>,
    last_persist: Instant,
    started: Instant,
    /// KafkaProduceOperator's message, for its XCom.
    single: Option<Record>,
}

impl<'a> Tracker<'a> {
    fn new(cx: &'a TryCtx<'a>, topic: &str, earlier: SeqRanges) -> Self {
        Self {
            cx,
            topic: topic.to_owned(),
            earlier,
            ok: SeqRanges::new(),
            recorded: SeqRanges::new(),
            errors: Vec::new(),
            skipped: 0,
            offsets: BTreeMap::new(),
            last_persist: Instant::now(),
            started: Instant::now(),
            single: None,
        }
    }

    fn add(&mut self, d: Delivery) {
        match d.result {
            Ok((p, o)) => {
                self.ok.insert(d.seq);
                let e = self.offsets.entry(p).or_insert((o, o));
                e.0 = e.0.min(o);
                e.1 = e.1.max(o);
            }
            Err(e) => self.errors.push((d.seq, e)),
        }
    }

    fn add_all(&mut self, done: Vec<Delivery>) {
        for d in done {
            self.add(d);
        }
    }

    /// Records what was acknowledged since the last record.
    async fn persist(&mut self) -> Result<(), String> {
        self.last_persist = Instant::now();
        let new = self.ok.minus(&self.recorded);
        if new.is_empty() {
            return Ok(());
        }
        let ranges: Vec<(i64, i64)> = new
            .ranges()
            .iter()
            .filter_map(|&(a, b)| Some((i64::try_from(a).ok()?, i64::try_from(b).ok()?)))
            .collect();
        let mut conn = self.cx.conn().await?;
        kafka_deliveries::record(
            &mut conn,
            self.cx.ti.id,
            self.cx.ti.try_number,
            &self.topic,
            &ranges,
        )
        .await
        .map_err(|e| e.to_string())?;
        for (a, b) in new.ranges() {
            self.recorded.insert_range(*a, *b);
        }
        Ok(())
    }

    fn log_summary(&self) {
        let n = self.ok.count();
        let secs = self.started.elapsed().as_secs_f64();
        let parts: Vec<String> = self
            .offsets
            .iter()
            .map(|(p, (a, b))| format!("[{p}] @ {a}..{b}"))
            .collect();
        let mut line = format!(
            "Produced {n} message(s) to topic {} in {secs:.3} s ({:.0} msg/s)",
            self.topic,
            if secs > 0.0 { n as f64 / secs } else { 0.0 }
        );
        if !parts.is_empty() {
            line.push_str(&format!(": partition {}", parts.join(", ")));
        }
        if self.skipped > 0 {
            line.push_str(&format!(
                "; {} skipped (delivered by an earlier try)",
                self.skipped
            ));
        }
        self.cx.sink.info(&line);
        for (seq, e) in self.errors.iter().take(ERRORS_SHOWN) {
            self.cx
                .sink
                .error(&format!("Failed to deliver message {seq}: {e}"));
        }
        if self.errors.len() > ERRORS_SHOWN {
            self.cx.sink.error(&format!(
                "… and {} more delivery errors",
                self.errors.len() - ERRORS_SHOWN
            ));
        }
    }

    /// KafkaProduceOperator's XCom: where its message went.
    fn single_xcom(&self) -> Json {
        let at = self.offsets.iter().next().map(|(p, (o, _))| (*p, *o));
        let r = self.single.clone().unwrap_or_default();
        json!({
            "topic": self.topic,
            "partition": at.map(|a| a.0),
            "offset": at.map(|a| a.1),
            "key": codec::decoded(r.key.as_deref()),
            "value": codec::decoded(r.value.as_deref()),
        })
    }
}
