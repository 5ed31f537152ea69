//! The worker: claims queued task instances under a lease, renders templates,
//! runs operators (native Rust, or Python through `updraft-python`'s runner),
//! heartbeats, streams logs and writes XCom and the final state. The one crate
//! that will link rdkafka.
//!
//! Not built yet: this crate is the home of issue #3's and #4's work.

pub mod log_sink;
pub mod operators;
pub mod templates;
