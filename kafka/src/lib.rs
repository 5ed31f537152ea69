//! Kafka clients for Updraft's Kafka operators: rdkafka with a vendored
//! librdkafka, kept in this one crate so that the rest of the workspace does
//! not wait on its C build. The worker's operators
//! (`updraft_worker::native::kafka`) drive these clients; connections
//! configure them ([`config`]). Produce is idempotent and numbers each
//! message ([`produce`]); consume commits only when told ([`consume`]).

pub mod admin;
pub mod config;
pub mod consume;
pub mod metrics;
pub mod produce;
pub mod seq_ranges;

pub use config::{ConfigError, KafkaConfig};
