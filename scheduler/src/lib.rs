//! The scheduler: creates DAG runs from schedules, evaluates dependencies,
//! queues task instances within pools and caps, retries, detects zombies and
//! finishes runs. Depends on `updraft-core` only; never runs DAG code.
//!
//! Not built yet: this crate is the home of issue #3's work.
