//! Updraft's core: the domain model (ids, states, the serialized DAG), the one
//! typed configuration, and every SQL statement (`store`). It depends on no
//! web, Python or Kafka crate; every other crate depends on it.

pub mod auth;
pub mod config;
pub mod db;
pub mod deps;
pub mod error;
pub mod model;
pub mod observe;
pub mod store;
pub mod timetable;

pub use error::{Error, Result};
