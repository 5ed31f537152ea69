//! Consuming in a consumer group with Updraft owning the commits: offsets
//! are committed only when the caller says so (after the task's result is
//! stored), never automatically, so a crash in between redelivers messages
//! rather than losing them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message as _};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::KafkaConfig;
use crate::metrics;

/// A consumed message, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Option<Vec<(String, Option<Vec<u8>>)>>,
    /// confluent-kafka's `(type, ms)`: 0 not available, 1 create time, 2 log append time.
    pub timestamp: (i32, i64),
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("creating the Kafka consumer for {servers}: {source}")]
    Create { servers: String, source: KafkaError },
    #[error("subscribing to {topics:?}: {source}")]
    Subscribe {
        topics: Vec<String>,
        source: KafkaError,
    },
    #[error("consuming from {topics:?}: {source}")]
    Poll {
        topics: Vec<String>,
        source: KafkaError,
    },
    #[error(
        "no partitions of {topics:?} were assigned to this consumer in group {group:?} within \
         {waited:?}: the group may still be rebalancing (a consumer that died holds its \
         partitions until its session.timeout.ms / max.poll.interval.ms pass), or the topics \
         do not exist"
    )]
    Join {
        group: String,
        topics: Vec<String>,
        waited: Duration,
    },
    #[error("committing offsets {offsets} for group {group:?}: {reason}")]
    Commit {
        group: String,
        offsets: String,
        reason: String,
    },
}

/// Offsets to commit: the next offset to read, per (topic, partition).
pub type Offsets = BTreeMap<(String, i32), i64>;

/// A consumer of some topics in one group.
pub struct Consumer {
    /// Always `Some` until dropped (then closed off the async runtime).
    inner: Option<Arc<StreamConsumer>>,
    /// What the client was made with (to make it again, [`Consumer::rejoin`]).
    config: KafkaConfig,
    topics: Vec<String>,
    group: String,
    /// Next offset to read, after the messages handed out so far.
    consumed: Offsets,
    /// Partitions that reported the end of their log since their last message.
    /// End-of-partition events per partition number since a message last
    /// came from a partition of that number (EOF events carry no topic).
    eofs: BTreeMap<i32, usize>,
    /// The group has assigned us partitions.
    joined: bool,
    /// Every assigned partition was at its end after the last batch.
    at_end: bool,
}

/// How long a batch after the end of the log waits for new messages.
const AT_END_LOOK: Duration = Duration::from_millis(50);

/// How long joining the consumer group may take before a batch gives up.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one join may take before the client joins again.
const REJOIN_AFTER: Duration = Duration::from_secs(10);
/// How often to look whether the group has assigned partitions yet.
const SLICE: Duration = Duration::from_millis(200);

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("topics", &self.topics)
            .field("group", &self.group)
            .field("consumed", &self.consumed)
            .finish()
    }
}

impl Consumer {
    /// Subscribes to `topics` (regex patterns start with `^`, as in
    /// librdkafka) in the connection's `group.id`, or `group` when the
    /// connection has none. The connection's settings are kept except those
    /// Updraft's commit guarantee needs: no automatic commit or offset store,
    /// end-of-partition events on. A new group starts at the beginning of the
    /// log unless the connection says otherwise (`auto.offset.reset`).
    pub fn new(
        config: &KafkaConfig,
        topics: &[String],
        group: Option<&str>,
    ) -> Result<Self, ConsumeError> {
        let mut config = config.clone();
        if let Some(g) = group {
            config.force("group.id", g);
        }
        let group = config.get("group.id").unwrap_or_default().to_owned();
        config.force("enable.auto.commit", "false");
        config.force("enable.auto.offset.store", "false");
        config.force("enable.partition.eof", "true");
        config.set_default("auto.offset.reset", "earliest");
        let inner = subscribe(&config, topics)?;
        Ok(Self {
            inner: Some(Arc::new(inner)),
            config,
            topics: topics.to_vec(),
            group,
            consumed: Offsets::new(),
            eofs: BTreeMap::new(),
            joined: false,
            at_end: false,
        })
    }

    /// Leaves the group and joins it again with a new client: a join that
    /// started while a dead member was still in the group can stay parked
    /// after the broker evicts it (seen with tansu 0.6); a new join goes
    /// through.
    fn rejoin(&mut self) -> Result<(), ConsumeError> {
        tracing::info!(group = %self.group, "no partitions assigned yet: joining the group again");
        let fresh = Arc::new(subscribe(&self.config, &self.topics)?);
        if let Some(old) = self.inner.replace(fresh) {
            close_off_runtime(old);
        }
        Ok(())
    }

    fn shared(&self) -> &Arc<StreamConsumer> {
        // Taken only by Drop.
        self.inner
            .as_ref()
            .expect("the consumer's client lives until it is dropped")
    }

    fn client(&self) -> &StreamConsumer {
        self.shared()
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// Up to `max` messages. Returns early when every assigned partition is
    /// at the end of its log, or when nothing arrived for `idle` once the
    /// group has assigned partitions (joining a group can take seconds and
    /// does not count as idle, up to [`JOIN_TIMEOUT`]); an empty batch means
    /// there is nothing more to read now.
    pub async fn next_batch(
        &mut self,
        max: usize,
        idle: Duration,
    ) -> Result<Vec<Message>, ConsumeError> {
        let mut batch = Vec::new();
        // At the end already: only look whether something new came.
        let idle = if self.at_end {
            idle.min(AT_END_LOOK)
        } else {
            idle
        };
        let started = Instant::now();
        let mut last = Instant::now();
        let mut rejoin = false;
        while batch.len() < max {
            if std::mem::take(&mut rejoin) {
                self.rejoin()?;
                last = Instant::now();
            }
            let wait = SLICE.min(idle.max(Duration::from_millis(1)));
            // A handle of this iteration's client: a message borrows it, not
            // `self` (which a rejoin may give a new client).
            let client = Arc::clone(self.shared());
            match tokio::time::timeout(wait, client.recv()).await {
                Err(_) => {
                    if !self.joined {
                        self.joined = self.client().assignment().is_ok_and(|a| a.count() > 0);
                        if !self.joined {
                            // At the top of the next turn, once this
                            // turn's handle of the old client is gone.
                            rejoin = last.elapsed() >= REJOIN_AFTER;
                            if started.elapsed() >= JOIN_TIMEOUT.max(idle) {
                                // Not "nothing to read": reading nothing
                                // would end the task as if the log were empty.
                                return Err(ConsumeError::Join {
                                    group: self.group.clone(),
                                    topics: self.topics.clone(),
                                    waited: started.elapsed(),
                                });
                            }
                            continue;
                        }
                        last = Instant::now();
                    }
                    if last.elapsed() >= idle {
                        break;
                    }
                }
                Ok(Ok(m)) => {
                    self.joined = true;
                    last = Instant::now();
                    let msg = owned(&m);
                    self.eofs.remove(&msg.partition);
                    self.consumed
                        .insert((msg.topic.clone(), msg.partition), msg.offset + 1);
                    batch.push(msg);
                    self.at_end = false;
                }
                Ok(Err(KafkaError::PartitionEOF(p))) => {
                    self.joined = true;
                    *self.eofs.entry(p).or_default() += 1;
                    if self.all_at_end() {
                        self.at_end = true;
                        break;
                    }
                }
                Ok(Err(source)) => {
                    return Err(ConsumeError::Poll {
                        topics: self.topics.clone(),
                        source,
                    });
                }
            }
        }
        let mut per_topic: BTreeMap<&str, u64> = BTreeMap::new();
        for m in &batch {
            *per_topic.entry(m.topic.as_str()).or_default() += 1;
        }
        for (topic, n) in per_topic {
            metrics::consumed(topic, n);
        }
        Ok(batch)
    }

    /// Every assigned partition has reached its end. EOF events name only
    /// a partition number: with several topics, partition `p` is at its end
    /// everywhere once as many EOFs for `p` came, with no message in
    /// between, as there are assigned topics with a partition `p` (an EOF is
    /// reported once per partition until new messages are read, so this never
    /// stops early; at worst it waits for `idle`).
    fn all_at_end(&self) -> bool {
        let per_number = self.assigned_per_number();
        !per_number.is_empty()
            && per_number
                .iter()
                .all(|(p, n)| self.eofs.get(p).is_some_and(|e| e >= n))
    }

    /// How many assigned partitions have each partition number.
    fn assigned_per_number(&self) -> BTreeMap<i32, usize> {
        let mut per_number = BTreeMap::new();
        if let Ok(assigned) = self.client().assignment() {
            for e in assigned.elements() {
                *per_number.entry(e.partition()).or_default() += 1;
            }
        }
        per_number
    }

    /// Offsets after every message handed out so far.
    pub fn consumed(&self) -> &Offsets {
        &self.consumed
    }

    /// Commits `offsets` synchronously.
    pub async fn commit(&self, offsets: &Offsets) -> Result<(), ConsumeError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        let shown = offsets
            .iter()
            .map(|((t, p), o)| format!("{t}[{p}]@{o}"))
            .collect::<Vec<_>>()
            .join(", ");
        let error = |reason: String| ConsumeError::Commit {
            group: self.group.clone(),
            offsets: shown.clone(),
            reason,
        };
        for ((t, p), o) in offsets {
            tpl.add_partition_offset(t, *p, Offset::Offset(*o))
                .map_err(|e| error(e.to_string()))?;
        }
        let inner = Arc::clone(self.shared());
        tokio::task::spawn_blocking(move || inner.commit(&tpl, CommitMode::Sync))
            .await
            .map_err(|e| error(e.to_string()))?
            .map_err(|e| error(e.to_string()))
    }

    /// The group's lag per assigned partition: high watermark minus the
    /// next offset this consumer would read; 0 for a partition whose end
    /// this consumer saw. The others ask the broker (one round trip each, in
    /// parallel); a broker answer below our position counts as 0. Also
    /// published as a gauge.
    pub async fn lag(&self) -> Result<Vec<(String, i32, i64)>, String> {
        let assigned = self.client().assignment().map_err(|e| e.to_string())?;
        let per_number = self.assigned_per_number();
        let positions = self.client().position().ok();
        let mut asks = tokio::task::JoinSet::new();
        let mut lags = Vec::new();
        for e in assigned.elements() {
            let (t, p) = (e.topic().to_owned(), e.partition());
            let seen_end = per_number
                .get(&p)
                .is_some_and(|n| self.eofs.get(&p).is_some_and(|e| e >= n));
            if seen_end {
                lags.push((t, p, 0));
                continue;
            }
            let next = self.consumed.get(&(t.clone(), p)).copied().or_else(|| {
                match positions.as_ref()?.find_partition(&t, p)?.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                }
            });
            let inner = Arc::clone(self.shared());
            asks.spawn_blocking(move || {
                let (low, high) = inner
                    .fetch_watermarks(&t, p, Duration::from_secs(5))
                    .map_err(|e| format!("watermarks of {t}[{p}]: {e}"))?;
                Ok::<_, String>((t, p, (high - next.unwrap_or(low).max(low)).max(0)))
            });
        }
        while let Some(joined) = asks.join_next().await {
            lags.push(joined.map_err(|e| e.to_string())??);
        }
        lags.sort();
        for (t, p, l) in &lags {
            metrics::lag(&self.group, t, *p, *l);
        }
        Ok(lags)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            close_off_runtime(inner);
        }
    }
}

/// Drops a consumer on a blocking thread: closing it leaves the group, a
/// broker round trip (longer when the broker is down) that must not stall
/// the async runtime's threads.
fn close_off_runtime(consumer: Arc<StreamConsumer>) {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn_blocking(move || drop(consumer));
        }
        Err(_) => drop(consumer),
    }
}

fn subscribe(config: &KafkaConfig, topics: &[String]) -> Result<StreamConsumer, ConsumeError> {
    let inner: StreamConsumer =
        config
            .client_config()
            .create()
            .map_err(|source| ConsumeError::Create {
                servers: config.bootstrap_servers().to_owned(),
                source,
            })?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    inner
        .subscribe(&names)
        .map_err(|source| ConsumeError::Subscribe {
            topics: topics.to_vec(),
            source,
        })?;
    Ok(inner)
}

fn owned(m: &rdkafka::message::BorrowedMessage<'_>) -> Message {
    let headers = m.headers().map(|hs| {
        hs.iter()
            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
            .collect()
    });
    let timestamp = match m.timestamp() {
        rdkafka::Timestamp::NotAvailable => (0, -1),
        rdkafka::Timestamp::CreateTime(t) => (1, t),
        rdkafka::Timestamp::LogAppendTime(t) => (2, t),
    };
    Message {
        topic: m.topic().to_owned(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers,
        timestamp,
    }
}
