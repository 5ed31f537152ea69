//! The worker: claims queued task instances under a lease, renders templates,
//! runs operators (native Rust, or Python through `updraft-python`'s runner),
//! heartbeats, streams logs and writes XCom and the final state. The one crate
//! that will link rdkafka.
//!
//! Today: the claim/run loop ([`run`]), Bash and empty tasks, task logs in
//! the database and the `return_value` XCom. Python, sensors, Kafka and
//! approval tasks come with the rest of issues #3 and #4.

mod bash_task;
pub mod db_log;
pub mod dispatch;
pub mod log_sink;
pub mod native;
pub mod operators;
pub mod outcome;
mod prepare;
pub mod run;
pub mod sensor;
mod serialized;
mod store_data;
pub mod task;
pub mod templates;
