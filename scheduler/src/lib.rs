//! The scheduler: creates DAG runs from schedules, evaluates dependencies,
//! queues task instances within pools and caps, retries, detects zombies and
//! finishes runs. Depends on `updraft-core` only; never runs DAG code.
//!
//! Built so far: DAG run creation and the task pass. [`plan`] holds the pure
//! run-creation decisions (which runs are due, which task instances a run
//! gets and their priority weights); [`runs`] applies them
//! ([`runs::create_due_runs`] for schedules, [`runs::trigger`] for manual runs).
//! [`decide`] holds the pure task decisions (trigger rules, EmptyOperator,
//! the leaf rule); [`tasks::pass`] applies them, starts and ends runs, queues
//! task instances and reaps expired leases. No SQL is written in this crate.

pub mod backfill;
pub mod dag_cache;
pub mod decide;
pub mod error;
pub mod manual;
pub mod plan;
pub mod runs;
pub mod settle;
pub mod tasks;

pub use error::{Error, Result};
