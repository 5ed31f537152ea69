//! Producing: librdkafka's idempotent producer (no duplicates or reordering
//! from its own retries), with every message numbered by the task (`seq`) so
//! the caller can record which ones the broker acknowledged and skip them
//! when the task is tried again.

use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};

/// `Box::pin` for a `Send + Sync` future.
trait BoxedSync: Future + Send + Sync + Sized + 'static {
    fn boxed_sync(self) -> Pin<Box<dyn Future<Output = Self::Output> + Send + Sync>> {
        Box::pin(self)
    }
}

impl<F: Future + Send + Sync + 'static> BoxedSync for F {}
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};

use crate::config::KafkaConfig;
use crate::metrics;

/// One message to produce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// What the broker said about message `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub seq: u64,
    /// `(partition, offset)`, or why it was not delivered.
    pub result: Result<(i32, i64), String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("creating the Kafka producer for {servers}: {source}")]
    Create { servers: String, source: KafkaError },
    #[error(
        "topic {topic:?} does not exist on {servers} (Updraft does not create topics; create it, \
         e.g. `updraft kafka topics create {topic}`)"
    )]
    NoSuchTopic { topic: String, servers: String },
    #[error("reading the metadata of topic {topic:?} from {servers}: {reason}")]
    Metadata {
        topic: String,
        servers: String,
        reason: String,
    },
    #[error("queueing a message for topic {topic:?}: {source}")]
    Queue { topic: String, source: KafkaError },
}

// Sync too: a worker's try future holds `&Producer` across awaits.
type Pending = FuturesUnordered<Pin<Box<dyn Future<Output = Delivery> + Send + Sync>>>;

/// A producer for one task's messages.
pub struct Producer {
    inner: FutureProducer,
    servers: String,
    pending: Pending,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("servers", &self.servers)
            .field("in_flight", &self.pending.len())
            .finish()
    }
}

impl Producer {
    /// A producer configured by the connection, idempotent unless the
    /// connection explicitly turned `enable.idempotence` off.
    pub fn new(config: &KafkaConfig) -> Result<Self, ProduceError> {
        let mut config = config.clone();
        config.set_default("enable.idempotence", "true");
        // A short linger batches the messages of one task without adding
        // noticeable latency to a single one.
        config.set_default("linger.ms", "5");
        let servers = config.bootstrap_servers().to_owned();
        let inner: FutureProducer =
            config
                .client_config()
                .create()
                .map_err(|source| ProduceError::Create {
                    servers: servers.clone(),
                    source,
                })?;
        Ok(Self {
            inner,
            servers,
            pending: FuturesUnordered::new(),
        })
    }

    /// The number of partitions of `topic`: an error naming the topic when it
    /// does not exist (a message to a missing topic would otherwise wait for
    /// `message.timeout.ms`, five minutes by default, before failing).
    pub async fn partitions(&self, topic: &str, timeout: Duration) -> Result<usize, ProduceError> {
        let client = self.inner.clone();
        let name = topic.to_owned();
        let meta = tokio::task::spawn_blocking(move || {
            client.client().fetch_metadata(Some(&name), timeout)
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|m| m.map_err(|e| e.to_string()))
        .map_err(|reason| ProduceError::Metadata {
            topic: topic.to_owned(),
            servers: self.servers.clone(),
            reason,
        })?;
        let found = meta.topics().iter().find(|t| t.name() == topic);
        match found {
            Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
                Ok(t.partitions().len())
            }
            _ => Err(ProduceError::NoSuchTopic {
                topic: topic.to_owned(),
                servers: self.servers.clone(),
            }),
        }
    }

    /// Queues message `seq`; while librdkafka's queue is full, waits for
    /// deliveries (returned in `done`) to make room.
    pub async fn send(
        &mut self,
        topic: &str,
        seq: u64,
        record: &Record,
        done: &mut Vec<Delivery>,
    ) -> Result<(), ProduceError> {
        loop {
            let mut fr: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
            if let Some(k) = &record.key {
                fr = fr.key(k.as_slice());
            }
            if let Some(v) = &record.value {
                fr = fr.payload(v.as_slice());
            }
            if !record.headers.is_empty() {
                let mut h = OwnedHeaders::new_with_capacity(record.headers.len());
                for (name, value) in &record.headers {
                    h = h.insert(Header {
                        key: name,
                        value: value.as_deref(),
                    });
                }
                fr = fr.headers(h);
            }
            match self.inner.send_result(fr) {
                Ok(fut) => {
                    let topic = topic.to_owned();
                    self.pending.push(
                        async move {
                            let result = match fut.await {
                                Ok(Ok(d)) => Ok((d.partition, d.offset)),
                                Ok(Err((e, _))) => Err(e.to_string()),
                                Err(_) => Err("the producer was dropped".to_owned()),
                            };
                            metrics::delivered(&topic, result.is_ok());
                            Delivery { seq, result }
                        }
                        .boxed_sync(),
                    );
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    match self.pending.next().await {
                        Some(d) => done.push(d),
                        // Nothing of ours in flight: librdkafka is full of
                        // retries; give it a moment.
                        None => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
                Err((source, _)) => {
                    return Err(ProduceError::Queue {
                        topic: topic.to_owned(),
                        source,
                    });
                }
            }
        }
    }

    /// Deliveries already reported, without waiting.
    pub fn ready(&mut self, done: &mut Vec<Delivery>) {
        while let Some(Some(d)) = self.pending.next().now_or_never() {
            done.push(d);
        }
    }

    /// Waits for the next delivery report (`None`: nothing in flight).
    pub async fn next_delivery(&mut self) -> Option<Delivery> {
        self.pending.next().await
    }

    /// Messages queued whose delivery is not reported yet.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
}
