//! The scheduler: creates DAG runs from schedules, evaluates dependencies,
//! queues task instances within pools and caps, retries, detects zombies and
//! finishes runs. Depends on `updraft-core` only; never runs DAG code.
//!
//! Built so far: DAG run creation. [`plan`] holds the pure decisions (which
//! runs are due, which task instances a run gets and their priority weights);
//! [`runs`] applies them to the database through `core::store`
//! ([`runs::create_due_runs`] for schedules, [`runs::trigger`] for manual runs).
//! No SQL is written in this crate.

pub mod error;
pub mod plan;
pub mod runs;

pub use error::{Error, Result};
