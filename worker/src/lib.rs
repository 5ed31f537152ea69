//! The worker: claims queued task instances under a lease, renders templates,
//! runs operators (native Rust, or Python through `updraft-python`'s runner),
//! heartbeats, streams logs and writes XCom and the final state. The one crate
//! that will link rdkafka.
//!
//! Today: the claim/run loop ([`run`]); Bash, empty, the time/file/bash/
//! external-task sensors, TriggerDagRun, LatestOnly and the datetime/weekday
//! branches natively ([`native`], sensors driven by [`sensor`]); Python tasks
//! through the warm Python task runner ([`python_runner`]); task logs in the
//! database and XComs. Kafka and approval tasks come with issues #4 and #5.

mod bash_task;
mod dag_cache;
pub mod db_log;
pub mod dispatch;
pub mod failpoint;
pub mod log_sink;
mod mapped_group;
pub mod native;
pub mod operators;
pub mod outcome;
mod prepare;
mod python_macros;
pub mod python_runner;
pub mod python_task;
pub mod run;
pub mod sensor;
mod serialized;
mod store_data;
pub mod task;
pub mod templates;
