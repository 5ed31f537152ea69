//! The REST API's view of `task_instance`: pages of task instances with
//! every column Airflow's `TaskInstanceResponse` carries (their run's dates,
//! their DAG version), filtered, ordered and counted in one statement.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;

/// What a page of task instances may be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TiOrder {
    /// Run, task id, map index: the natural order.
    Default,
    TaskId,
    MapIndex,
    State,
    StartDate,
    EndDate,
    Duration,
    TryNumber,
    PriorityWeight,
    RunAfter,
}

impl TiOrder {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "id" => Self::Default,
            "task_id" => Self::TaskId,
            "map_index" => Self::MapIndex,
            "state" => Self::State,
            "start_date" => Self::StartDate,
            "end_date" => Self::EndDate,
            "duration" => Self::Duration,
            "try_number" => Self::TryNumber,
            "priority_weight" => Self::PriorityWeight,
            "run_after" | "logical_date" => Self::RunAfter,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            Self::Default => "r.id",
            Self::TaskId => "ti.task_id",
            Self::MapIndex => "ti.map_index",
            Self::State => "ti.state",
            Self::StartDate => "ti.start_date",
            Self::EndDate => "ti.end_date",
            Self::Duration => "ti.duration",
            Self::TryNumber => "ti.try_number",
            Self::PriorityWeight => "ti.priority_weight",
            Self::RunAfter => "r.run_after",
        }
    }
}

/// Filters and paging of `GET .../taskInstances`.
#[derive(Debug, Clone)]
pub struct TiQuery {
    /// `None`: every DAG (`~`).
    pub dag_id: Option<String>,
    /// `None`: every run (`~`).
    pub run_id: Option<String>,
    pub task_id: Option<String>,
    pub map_index: Option<i32>,
    /// These exact ids only (`None`: any).
    pub ids: Option<Vec<Uuid>>,
    /// Any of these states; `"no_status"` stands for none. Empty: all.
    pub states: Vec<String>,
    pub order_by: TiOrder,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

impl Default for TiQuery {
    fn default() -> Self {
        Self {
            dag_id: None,
            run_id: None,
            task_id: None,
            map_index: None,
            ids: None,
            states: Vec::new(),
            order_by: TiOrder::Default,
            descending: false,
            limit: 100,
            offset: 0,
        }
    }
}

/// A task instance with what `TaskInstanceResponse` shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TiEntry {
    pub id: Uuid,
    pub dag_id: String,
    pub run_id: String,
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
    pub hostname: Option<String>,
    pub pid: Option<i32>,
    pub queued_at: Option<DateTime<Utc>>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub duration: Option<f64>,
    pub note: Option<String>,
    pub rendered_fields: Option<Value>,
    pub logical_date: Option<DateTime<Utc>>,
    pub run_after: DateTime<Utc>,
    pub dag_display_name: Option<String>,
    pub dag_version_id: Option<i64>,
    pub version_number: Option<i32>,
    pub version_created_at: Option<DateTime<Utc>>,
    /// Rows matching the filters, before `limit`/`offset`.
    pub total: i64,
}

/// The WHERE clause of a [`TiQuery`] on `task_instance` aliased `t` (its
/// parameters are $1 to $6).
fn filters(t: &str) -> String {
    format!(
        "($1::text IS NULL OR {t}.dag_id = $1)
            AND ($2::text IS NULL OR {t}.run_id = $2)
            AND ($3::text IS NULL OR {t}.task_id = $3)
            AND ($4::int4 IS NULL OR {t}.map_index = $4)
            AND ($5::uuid[] IS NULL OR {t}.id = ANY($5))
            AND (cardinality($6::text[]) = 0 OR {t}.state = ANY($6)
                 OR ({t}.state IS NULL AND 'no_status' = ANY($6)))"
    )
}

/// One page of task instances and the number matching the filters (the
/// total a separate count, not a window: see `run_catalog::page`).
pub async fn page(pool: &PgPool, q: &TiQuery) -> Result<(Vec<TiEntry>, i64)> {
    let direction = if q.descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT ti.id, ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.state,
                ti.try_number, ti.max_tries, ti.operator, ti.pool, ti.pool_slots, ti.queue,
                ti.priority_weight, ti.hostname, ti.pid, ti.queued_at, ti.start_date,
                ti.end_date, ti.duration, ti.note, ti.rendered_fields, r.logical_date,
                r.run_after, d.dag_display_name, ti.dag_version_id, v.version_number,
                v.created_at AS version_created_at,
                (SELECT count(*) FROM task_instance c WHERE {}) AS total
           FROM task_instance ti
           JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id
           JOIN dag d ON d.dag_id = ti.dag_id
           LEFT JOIN dag_version v ON v.id = ti.dag_version_id
          WHERE {}
          ORDER BY {} {direction} NULLS LAST, r.id, ti.task_id, ti.map_index
          LIMIT $7 OFFSET $8",
        filters("c"),
        filters("ti"),
        q.order_by.column()
    );
    let rows: Vec<TiEntry> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&q.dag_id)
        .bind(&q.run_id)
        .bind(&q.task_id)
        .bind(q.map_index)
        .bind(&q.ids)
        .bind(&q.states)
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(pool)
        .await?;
    let total = match rows.first() {
        Some(r) => r.total,
        // An offset past the end returns no row to carry the total.
        None if q.offset > 0 || q.limit == 0 => {
            let first = TiQuery {
                offset: 0,
                limit: 1,
                ..q.clone()
            };
            Box::pin(page(pool, &first)).await?.1
        }
        None => 0,
    };
    Ok((rows, total))
}
