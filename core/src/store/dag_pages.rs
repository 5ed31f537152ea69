//! Reads behind the web UI's DAG pages: the header of a DAG, its latest runs
//! and their task instance states (the grid), its source (the code tab), and
//! one task instance with its tries (the task instance page), and the DAG
//! version a graph is drawn from. Read-only: each takes the pool.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;
use crate::store::task_instances::TiRef;

/// What the header of every DAG page shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DagHeader {
    pub dag_id: String,
    pub schedule_summary: Option<String>,
    pub is_paused: bool,
    pub is_active: bool,
    pub description: Option<String>,
    pub fileloc: String,
    /// The DAG's backfill in progress (its banner).
    pub active_backfill_id: Option<i64>,
}

/// The DAG's header row (`None`: no such DAG).
pub async fn header(pool: &PgPool, dag_id: &str) -> Result<Option<DagHeader>> {
    Ok(sqlx::query_as(
        "SELECT dag_id, schedule_summary, is_paused, is_active, description, fileloc,
                (SELECT b.id FROM backfill b WHERE b.dag_id = dag.dag_id
                    AND b.completed_at IS NULL) AS active_backfill_id
           FROM dag WHERE dag_id = $1",
    )
    .bind(dag_id)
    .fetch_optional(pool)
    .await?)
}

/// A column of the grid.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GridRun {
    pub run_id: String,
    pub state: String,
    pub run_type: String,
    pub logical_date: Option<DateTime<Utc>>,
    pub run_after: DateTime<Utc>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
}

/// The latest `limit` runs of a DAG, oldest first (the grid's columns, newest
/// on the right as in Airflow), ordered by `run_after` as the DAG list does.
pub async fn latest_runs(pool: &PgPool, dag_id: &str, limit: i64) -> Result<Vec<GridRun>> {
    let mut runs: Vec<GridRun> = sqlx::query_as(
        "SELECT run_id, state, run_type, logical_date, run_after, start_date, end_date
           FROM dag_run WHERE dag_id = $1
          ORDER BY run_after DESC, id DESC LIMIT $2",
    )
    .bind(dag_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    runs.reverse();
    Ok(runs)
}

/// One task instance's state in a grid cell.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GridTi {
    pub run_id: String,
    pub task_id: String,
    pub map_index: i32,
    pub state: Option<String>,
}

/// The task instances of `run_ids` of a DAG.
pub async fn grid_tis(pool: &PgPool, dag_id: &str, run_ids: &[String]) -> Result<Vec<GridTi>> {
    Ok(sqlx::query_as(
        "SELECT run_id, task_id, map_index, state FROM task_instance
          WHERE dag_id = $1 AND run_id = ANY($2)",
    )
    .bind(dag_id)
    .bind(run_ids)
    .fetch_all(pool)
    .await?)
}

/// The source of the DAG's file as last parsed (its current version's
/// `dag_code`): `(fileloc, source)`.
pub async fn source(pool: &PgPool, dag_id: &str) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT c.fileloc, c.source_code
           FROM serialized_dag s
           JOIN dag_version v ON v.id = s.dag_version_id
           JOIN dag_code c ON c.source_hash = v.source_hash
          WHERE s.dag_id = $1",
    )
    .bind(dag_id)
    .fetch_optional(pool)
    .await?)
}

/// A task instance as its page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TiDetail {
    pub id: Uuid,
    pub state: Option<String>,
    pub try_number: i32,
    pub max_tries: i32,
    pub operator: Option<String>,
    pub pool: String,
    pub queue: String,
    pub hostname: Option<String>,
    pub queued_at: Option<DateTime<Utc>>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub duration: Option<f64>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub rendered_fields: Option<Value>,
    pub run_state: String,
}

pub async fn ti_detail(pool: &PgPool, ti: &TiRef<'_>) -> Result<Option<TiDetail>> {
    Ok(sqlx::query_as(
        "SELECT ti.id, ti.state, ti.try_number, ti.max_tries, ti.operator, ti.pool, ti.queue,
                ti.hostname, ti.queued_at, ti.start_date, ti.end_date, ti.duration,
                ti.next_retry_at, ti.rendered_fields, r.state AS run_state
           FROM task_instance ti
           JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id
          WHERE ti.dag_id = $1 AND ti.run_id = $2 AND ti.task_id = $3 AND ti.map_index = $4",
    )
    .bind(ti.dag_id)
    .bind(ti.run_id)
    .bind(ti.task_id)
    .bind(ti.map_index)
    .fetch_optional(pool)
    .await?)
}

/// A finished try (`task_instance_history`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TryRow {
    pub try_number: i32,
    pub state: String,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub duration: Option<f64>,
    pub rendered_fields: Option<Value>,
    pub error: Option<String>,
}

/// The finished tries of a task instance, oldest first.
pub async fn tries(pool: &PgPool, ti_id: Uuid) -> Result<Vec<TryRow>> {
    Ok(sqlx::query_as(
        "SELECT try_number, state, start_date, end_date, duration, rendered_fields, error
           FROM task_instance_history WHERE ti_id = $1 ORDER BY try_number",
    )
    .bind(ti_id)
    .fetch_all(pool)
    .await?)
}

/// `(task_id, map_index, state)` of the task instances of `task_ids` in a run
/// (a task's upstreams, for "why is it waiting").
pub async fn states_of(
    pool: &PgPool,
    dag_id: &str,
    run_id: &str,
    task_ids: &[String],
) -> Result<Vec<(String, i32, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT task_id, map_index, state FROM task_instance
          WHERE dag_id = $1 AND run_id = $2 AND task_id = ANY($3)
          ORDER BY task_id, map_index",
    )
    .bind(dag_id)
    .bind(run_id)
    .bind(task_ids)
    .fetch_all(pool)
    .await?)
}

/// The DAG version a run's graph is drawn from: the run's own, else the
/// DAG's current one (`None`: never parsed).
pub async fn graph_version(
    pool: &PgPool,
    dag_id: &str,
    run_id: Option<&str>,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(
                  (SELECT dag_version_id FROM dag_run WHERE dag_id = $1 AND run_id = $2),
                  (SELECT dag_version_id FROM serialized_dag WHERE dag_id = $1))",
    )
    .bind(dag_id)
    .bind(run_id)
    .fetch_one(pool)
    .await?)
}
