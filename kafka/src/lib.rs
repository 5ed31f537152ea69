//! Kafka clients for Updraft's Kafka operators: rdkafka with a vendored
//! librdkafka, kept in this one crate so that the rest of the workspace does
//! not wait on its C build. The worker's operators (`updraft_worker::native::kafka`)
//! drive these clients; connections configure them ([`config`]).

pub mod admin;
pub mod config;

pub use config::{ConfigError, KafkaConfig};
