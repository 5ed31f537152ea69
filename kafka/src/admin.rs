//! Topic administration on the broker a connection names: create topics
//! (idempotently: a topic that exists is fine) and list them with their
//! partition counts. Used by `updraft kafka topics` and by tests; brokers
//! that do not create topics on first use (tansu, many managed clusters)
//! need topics created before a producer writes.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::config::KafkaConfig;

/// How long one admin request or metadata fetch may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Why an admin operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("connection {conn_id:?}: cannot make a Kafka admin client: {source}")]
    Client { conn_id: String, source: KafkaError },
    #[error("creating topic {topic:?} on {bootstrap}: {code}")]
    Create {
        topic: String,
        bootstrap: String,
        code: RDKafkaErrorCode,
    },
    #[error("{what} on {bootstrap}: {source}")]
    Request {
        what: &'static str,
        bootstrap: String,
        source: KafkaError,
    },
    #[error("{what} on {bootstrap}: no answer within {TIMEOUT:?}")]
    Timeout {
        what: &'static str,
        bootstrap: String,
    },
}

/// A topic and its partition count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: usize,
}

fn admin_client(config: &KafkaConfig) -> Result<AdminClient<DefaultClientContext>, AdminError> {
    config
        .client_config()
        .create()
        .map_err(|source| AdminError::Client {
            conn_id: config.conn_id.clone(),
            source,
        })
}

/// Creates each `(name, partitions)` topic with replication factor 1 (a
/// broker's default for more is the operator's business); a topic that
/// exists already counts as created, whatever its partition count.
pub async fn create_topics(config: &KafkaConfig, topics: &[(&str, i32)]) -> Result<(), AdminError> {
    if topics.is_empty() {
        return Ok(());
    }
    let bootstrap = config.bootstrap_servers().to_owned();
    let admin = admin_client(config)?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, partitions)| NewTopic::new(name, *partitions, TopicReplication::Fixed(1)))
        .collect();
    let opts = AdminOptions::new().request_timeout(Some(TIMEOUT));
    let what = "creating topics";
    let results = tokio::time::timeout(TIMEOUT + Duration::from_secs(5), async {
        admin.create_topics(new.iter(), &opts).await
    })
    .await
    .map_err(|_| AdminError::Timeout {
        what,
        bootstrap: bootstrap.clone(),
    })?
    .map_err(|source| AdminError::Request {
        what,
        bootstrap: bootstrap.clone(),
        source,
    })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(AdminError::Create {
                    topic,
                    bootstrap,
                    code,
                });
            }
        }
    }
    Ok(())
}

/// The broker's topics (internal ones, `__consumer_offsets`…, left out),
/// sorted by name.
pub async fn list_topics(config: &KafkaConfig) -> Result<Vec<TopicInfo>, AdminError> {
    let bootstrap = config.bootstrap_servers().to_owned();
    let admin = admin_client(config)?;
    let what = "listing topics";
    // fetch_metadata blocks its thread until the broker answers.
    let metadata = tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(None, TIMEOUT))
        .await
        .map_err(|_| AdminError::Timeout {
            what,
            bootstrap: bootstrap.clone(),
        })?
        .map_err(|source| AdminError::Request {
            what,
            bootstrap,
            source,
        })?;
    let mut topics: Vec<TopicInfo> = metadata
        .topics()
        .iter()
        .filter(|t| !t.name().starts_with("__") && t.error().is_none())
        .map(|t| TopicInfo {
            name: t.name().to_owned(),
            partitions: t.partitions().len(),
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(topics)
}
