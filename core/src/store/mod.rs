//! Every SQL statement of Updraft, one module per table group. Functions take
//! `&mut PgConnection` (pass `&mut *tx`) so the caller decides where a
//! transaction begins and ends; reads that need no transaction take the pool.

pub mod audit;
pub mod backfills;
pub mod browse;
pub mod connections;
pub mod dag_catalog;
pub mod dag_files;
pub mod dag_list;
pub mod dag_pages;
pub mod dag_runs;
pub mod dags;
pub mod events;
pub mod health;
pub mod hitl;
pub mod import_errors;
pub mod jobs;
pub mod kafka_deliveries;
pub mod pools;
pub mod rendered_fields;
pub mod run_catalog;
pub mod sessions;
pub mod task_instances;
pub mod task_logs;
pub mod ti_catalog;
pub mod ti_state;
pub mod users;
pub mod variables;
pub mod workers;
pub mod xcom;

pub use sqlx::{PgConnection, PgPool};
