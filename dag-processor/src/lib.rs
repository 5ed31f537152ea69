//! The DAG processor: finds DAG files in the dags folder (Airflow's rules),
//! has each changed file parsed by a pool of parse servers (child processes
//! that embed Python; see `updraft-python`), and stores the serialized DAGs,
//! their versions and import errors through `updraft-core::store`.
//!
//! This crate runs no Python itself and links no libpython: a crashing or
//! hanging DAG file can only take down a parse child.

pub mod persist;
pub mod pool;
pub mod processor;
pub mod scan;

pub use pool::{ParsePool, ParseServerCommand};
pub use processor::{DagProcessor, Mode, ProcessorOptions, RefreshReport};
