//! Operators the worker runs natively, in Rust, without a Python interpreter:
//! Bash today; empty, branch, sensors, approval and Kafka to come. Each module
//! takes an already-rendered spec (templates are rendered before an operator
//! runs), streams output to a [`crate::log_sink::LogSink`] and returns an
//! outcome the worker maps to a task-instance state and XCom. Operators do not
//! touch the database: claiming, heartbeats and the fenced final write belong
//! to the worker loop. Python-defined operators are delegated to `python/`.

pub mod bash;
pub mod reaper;
