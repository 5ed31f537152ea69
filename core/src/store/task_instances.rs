//! The task instance table: `task_instance`.
//!
//! Creating the task instances of a new DAG run (one per task, `state`
//! NULL, in the caller's transaction with the run), reading them back (for
//! listings and for the scheduler's decisions), and finishing scheduled
//! EmptyOperator task instances without a worker. What goes into each row
//! (priority weights, pools) and which state to write is decided by the
//! caller; this module only writes it. Other transitions: `ti_state`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::Result;
use crate::model::state::TaskInstanceState;

/// One task instance of a new run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTaskInstance {
    pub task_id: String,
    /// The task's class name (`task_type`).
    pub operator: String,
    pub max_tries: i32,
    pub pool: String,
    pub pool_slots: i32,
    pub queue: String,
    pub priority_weight: i32,
    /// `max_active_tis_per_dag` / `max_active_tis_per_dagrun` (`None`: no cap).
    pub max_active_tis_per_dag: Option<i32>,
    pub max_active_tis_per_dagrun: Option<i32>,
    /// The task's retry timing (seconds), for tries the scheduler reaps.
    pub retry_delay: Option<f64>,
    pub retry_exponential_backoff: bool,
    pub max_retry_delay: Option<f64>,
}

/// Which run the task instances belong to.
#[derive(Debug, Clone, Copy)]
pub struct RunRef<'a> {
    pub dag_id: &'a str,
    pub run_id: &'a str,
    pub dag_version_id: Option<i64>,
}

/// Inserts the task instances of a run (map index -1, no state yet).
/// Returns how many were inserted.
pub async fn create_for_run(
    conn: &mut PgConnection,
    run: RunRef<'_>,
    tasks: &[NewTaskInstance],
) -> Result<u64> {
    if tasks.is_empty() {
        return Ok(0);
    }
    let col = |f: fn(&NewTaskInstance) -> String| tasks.iter().map(f).collect::<Vec<_>>();
    let num = |f: fn(&NewTaskInstance) -> i32| tasks.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<uuid::Uuid> = tasks.iter().map(|_| uuid::Uuid::new_v4()).collect();
    let done = sqlx::query(
        "INSERT INTO task_instance (id, dag_id, run_id, task_id, map_index, state, try_number,
                                    max_tries, operator, pool, pool_slots, queue,
                                    priority_weight, dag_version_id, max_active_tis_per_dag,
                                    max_active_tis_per_dagrun, retry_delay,
                                    retry_exponential_backoff, max_retry_delay)
         SELECT u.id, $1, $2, u.task_id, -1, NULL, 0, u.max_tries, u.operator, u.pool,
                u.pool_slots, u.queue, u.priority_weight, $3, u.per_dag, u.per_run, u.delay,
                u.backoff, u.max_delay
           FROM UNNEST($4::uuid[], $5::text[], $6::int4[], $7::text[], $8::text[], $9::int4[],
                       $10::text[], $11::int4[], $12::int4[], $13::int4[], $14::float8[],
                       $15::bool[], $16::float8[])
                AS u(id, task_id, max_tries, operator, pool, pool_slots, queue, priority_weight,
                     per_dag, per_run, delay, backoff, max_delay)",
    )
    .bind(run.dag_id)
    .bind(run.run_id)
    .bind(run.dag_version_id)
    .bind(ids)
    .bind(col(|t| t.task_id.clone()))
    .bind(num(|t| t.max_tries))
    .bind(col(|t| t.operator.clone()))
    .bind(col(|t| t.pool.clone()))
    .bind(num(|t| t.pool_slots))
    .bind(col(|t| t.queue.clone()))
    .bind(num(|t| t.priority_weight))
    .bind(
        tasks
            .iter()
            .map(|t| t.max_active_tis_per_dag)
            .collect::<Vec<_>>(),
    )
    .bind(
        tasks
            .iter()
            .map(|t| t.max_active_tis_per_dagrun)
            .collect::<Vec<_>>(),
    )
    .bind(tasks.iter().map(|t| t.retry_delay).collect::<Vec<_>>())
    .bind(
        tasks
            .iter()
            .map(|t| t.retry_exponential_backoff)
            .collect::<Vec<_>>(),
    )
    .bind(tasks.iter().map(|t| t.max_retry_delay).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A task instance as listed for a run.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TaskInstanceRow {
    pub task_id: String,
    pub map_index: i32,
    pub state: Option<String>,
    pub try_number: i32,
    pub max_tries: i32,
    pub operator: Option<String>,
    pub pool: String,
    pub pool_slots: i32,
    pub queue: String,
    pub priority_weight: i32,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
}

/// The task instances of one run, by task id and map index.
pub async fn list_for_run(
    pool: &PgPool,
    dag_id: &str,
    run_id: &str,
) -> Result<Vec<TaskInstanceRow>> {
    Ok(sqlx::query_as(
        "SELECT task_id, map_index, state, try_number, max_tries, operator, pool, pool_slots,
                queue, priority_weight, start_date, end_date
           FROM task_instance WHERE dag_id = $1 AND run_id = $2
          ORDER BY task_id, map_index",
    )
    .bind(dag_id)
    .bind(run_id)
    .fetch_all(pool)
    .await?)
}

/// Where one task instance of a run stands, for the scheduler's decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiStatus {
    pub id: uuid::Uuid,
    pub task_id: String,
    pub map_index: i32,
    pub state: Option<TaskInstanceState>,
    /// When an `up_for_retry`/`up_for_reschedule` try may run again.
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// The task instances of one run with their states (the run row should be
/// locked by the caller).
pub async fn statuses_for_run(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
) -> Result<Vec<TiStatus>> {
    type Row = (
        uuid::Uuid,
        String,
        i32,
        Option<String>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, task_id, map_index, state, next_retry_at FROM task_instance
          WHERE dag_id = $1 AND run_id = $2 ORDER BY task_id, map_index",
    )
    .bind(dag_id)
    .bind(run_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, task_id, map_index, state, next_retry_at)| {
            let state = match state {
                None => None,
                Some(s) => Some(TaskInstanceState::parse(&s).ok_or_else(|| {
                    crate::Error::from(sqlx::Error::ColumnDecode {
                        index: "state".into(),
                        source: format!("unknown task instance state {s:?}").into(),
                    })
                })?),
            };
            Ok(TiStatus {
                id,
                task_id,
                map_index,
                state,
                next_retry_at,
            })
        })
        .collect()
}

/// `None`/`scheduled` → `success` without a worker (EmptyOperator, as
/// Airflow's scheduler does): the try is counted (when it was not yet, as
/// scheduling does) and its history row written by the same statement.
/// Returns the ids that changed.
pub async fn succeed_empty(
    conn: &mut PgConnection,
    ids: &[uuid::Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<uuid::Uuid>> {
    Ok(sqlx::query_scalar(
        "WITH done AS (
             UPDATE task_instance
                SET try_number = try_number + CASE WHEN state IS NULL THEN 1 ELSE 0 END,
                    state = 'success', start_date = $2,
                    end_date = $2, duration = 0, queued_at = NULL, updated_at = now()
              WHERE id = ANY($1) AND (state IS NULL OR state = 'scheduled')
             RETURNING *),
         history AS (
             INSERT INTO task_instance_history (ti_id, try_number, state, operator, start_date,
                                                end_date, duration)
             SELECT id, try_number, state, operator, start_date, end_date, duration FROM done)
         SELECT id FROM done",
    )
    .bind(ids)
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// A task instance as people name it (dag, run, task, map index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiRef<'a> {
    pub dag_id: &'a str,
    pub run_id: &'a str,
    pub task_id: &'a str,
    pub map_index: i32,
}

/// A task instance's id and its current (latest) try number.
pub async fn locate(conn: &mut PgConnection, ti: &TiRef<'_>) -> Result<Option<(uuid::Uuid, i32)>> {
    Ok(sqlx::query_as(
        "SELECT id, try_number FROM task_instance
          WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4",
    )
    .bind(ti.dag_id)
    .bind(ti.run_id)
    .bind(ti.task_id)
    .bind(ti.map_index)
    .fetch_optional(conn)
    .await?)
}

/// Which of `task_ids` have a task instance in a run of `dag_id` logically
/// before run `run_id` (for `ignore_first_depends_on_past`).
pub async fn tasks_with_history(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
    task_ids: &[String],
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT ti.task_id FROM task_instance ti
           JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id
          WHERE ti.dag_id = $1 AND ti.task_id = ANY($3)
            AND dr.logical_date < (SELECT logical_date FROM dag_run
                                    WHERE dag_id = $1 AND run_id = $2)",
    )
    .bind(dag_id)
    .bind(run_id)
    .bind(task_ids)
    .fetch_all(conn)
    .await?)
}

/// A task instance as `tasks states-for-dag-run`, `tasks state` and `tasks
/// clear` show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TiView {
    pub id: uuid::Uuid,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub map_index: i32,
    pub state: Option<String>,
    pub try_number: i32,
    pub max_tries: i32,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub logical_date: Option<DateTime<Utc>>,
}

/// The task instances of a DAG's runs whose logical date is within
/// `[start, end]` (either bound open), or of one run when `run_id` is
/// given; by logical date, run, task and map index.
pub async fn views(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: Option<&str>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> Result<Vec<TiView>> {
    Ok(sqlx::query_as(
        "SELECT ti.id, ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.state, ti.try_number,
                ti.max_tries, ti.start_date, ti.end_date, r.logical_date
           FROM task_instance ti
           JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id
          WHERE ti.dag_id = $1 AND ($2::text IS NULL OR ti.run_id = $2)
            AND ($3::timestamptz IS NULL OR r.logical_date >= $3)
            AND ($4::timestamptz IS NULL OR r.logical_date <= $4)
          ORDER BY r.logical_date NULLS LAST, r.id, ti.task_id, ti.map_index",
    )
    .bind(dag_id)
    .bind(run_id)
    .bind(start)
    .bind(end)
    .fetch_all(conn)
    .await?)
}

/// Inserts one task instance into an existing run (map index -1, no
/// state): `tasks test` runs a single task in a temporary run. Returns its id.
pub async fn create_one(
    conn: &mut PgConnection,
    run: RunRef<'_>,
    task: &NewTaskInstance,
) -> Result<uuid::Uuid> {
    Ok(sqlx::query_scalar(
        "INSERT INTO task_instance (id, dag_id, run_id, task_id, map_index, state, try_number,
                                    max_tries, operator, pool, pool_slots, queue,
                                    priority_weight, dag_version_id)
         VALUES (gen_random_uuid(), $1, $2, $3, -1, NULL, 0, $4, $5, $6, $7, $8, $9, $10)
         RETURNING id",
    )
    .bind(run.dag_id)
    .bind(run.run_id)
    .bind(&task.task_id)
    .bind(task.max_tries)
    .bind(&task.operator)
    .bind(&task.pool)
    .bind(task.pool_slots)
    .bind(&task.queue)
    .bind(task.priority_weight)
    .bind(run.dag_version_id)
    .fetch_one(conn)
    .await?)
}

/// `(task_id, state)` of every task instance of `task_ids` in the runs of
/// `dag_id` at `logical_date` (ExternalTaskSensor's match), mapped ones
/// included.
pub async fn states_at_logical_date(
    conn: &mut PgConnection,
    dag_id: &str,
    logical_date: DateTime<Utc>,
    task_ids: &[String],
) -> Result<Vec<(String, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT t.task_id, t.state FROM task_instance t
           JOIN dag_run r ON r.dag_id = t.dag_id AND r.run_id = t.run_id
          WHERE t.dag_id = $1 AND r.logical_date = $2 AND t.task_id = ANY($3)
          ORDER BY t.task_id, t.map_index",
    )
    .bind(dag_id)
    .bind(logical_date)
    .bind(task_ids)
    .fetch_all(conn)
    .await?)
}

/// The DAG version a task instance runs on: its own, or the DAG's current
/// one for rows created without (`None`: neither exists).
pub async fn dag_version_of(conn: &mut PgConnection, ti_id: uuid::Uuid) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(ti.dag_version_id, s.dag_version_id) FROM task_instance ti
           LEFT JOIN serialized_dag s ON s.dag_id = ti.dag_id
          WHERE ti.id = $1",
    )
    .bind(ti_id)
    .fetch_optional(conn)
    .await?
    .flatten())
}
