//! The REST API's view of `dag`: one page of DAGs with every column
//! Airflow's `DAGResponse` carries, filtered, ordered and counted in one
//! statement. (The UI's list is `dag_list`, shaped for its page.)

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::Result;

/// What a page of DAGs may be ordered by (Airflow's `order_by` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DagOrder {
    DagId,
    DagDisplayName,
    NextDagrun,
    LastParsedTime,
    IsPaused,
}

impl DagOrder {
    /// The column named `name` in `order_by` (without its `-`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "dag_id" => Self::DagId,
            "dag_display_name" => Self::DagDisplayName,
            "next_dagrun" | "next_dagrun_logical_date" => Self::NextDagrun,
            "last_parsed_time" => Self::LastParsedTime,
            "is_paused" => Self::IsPaused,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            Self::DagId => "d.dag_id",
            Self::DagDisplayName => "COALESCE(d.dag_display_name, d.dag_id)",
            Self::NextDagrun => "d.next_dagrun",
            Self::LastParsedTime => "d.last_parsed_at",
            Self::IsPaused => "d.is_paused",
        }
    }
}

/// Filters and paging of `GET /api/v2/dags`.
#[derive(Debug, Clone)]
pub struct DagQuery {
    /// An exact DAG id (`GET /dags/{id}`); `None`: any.
    pub dag_id: Option<String>,
    /// Airflow's `dag_id_pattern`: an SQL `ILIKE` pattern matched anywhere
    /// in the id (`%` and `_` are wildcards, as in Airflow).
    pub dag_id_pattern: Option<String>,
    pub tags: Vec<String>,
    /// With `tags`: every tag (`all`) instead of any.
    pub tags_match_all: bool,
    pub paused: Option<bool>,
    /// Airflow's `exclude_stale` (default true): only DAGs still defined.
    pub only_active: bool,
    pub order_by: DagOrder,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

impl Default for DagQuery {
    fn default() -> Self {
        Self {
            dag_id: None,
            dag_id_pattern: None,
            tags: Vec::new(),
            tags_match_all: false,
            paused: None,
            only_active: true,
            order_by: DagOrder::DagId,
            descending: false,
            limit: 100,
            offset: 0,
        }
    }
}

/// A DAG with what `DAGResponse` shows, and the total of its query.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DagEntry {
    pub dag_id: String,
    pub dag_display_name: Option<String>,
    pub is_paused: bool,
    pub is_active: bool,
    pub last_parsed_at: DateTime<Utc>,
    pub last_expired_at: Option<DateTime<Utc>>,
    pub fileloc: String,
    pub relative_fileloc: String,
    pub description: Option<String>,
    pub schedule_summary: Option<String>,
    pub timetable_description: Option<String>,
    pub tags: Vec<String>,
    pub max_active_tasks: Option<i32>,
    pub max_active_runs: Option<i32>,
    pub max_consecutive_failed_dag_runs: i32,
    pub has_task_concurrency_limits: bool,
    pub has_import_errors: bool,
    pub next_dagrun: Option<DateTime<Utc>>,
    pub next_dagrun_data_interval_start: Option<DateTime<Utc>>,
    pub next_dagrun_data_interval_end: Option<DateTime<Utc>>,
    pub next_dagrun_create_after: Option<DateTime<Utc>>,
    pub owners: String,
    /// Rows matching the filters, before `limit`/`offset`.
    pub total: i64,
}

/// One page of DAGs and the number matching the filters.
pub async fn page(pool: &PgPool, q: &DagQuery) -> Result<(Vec<DagEntry>, i64)> {
    let direction = if q.descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT d.dag_id, d.dag_display_name, d.is_paused, d.is_active, d.last_parsed_at,
                d.last_expired_at, d.fileloc, d.relative_fileloc, d.description,
                d.schedule_summary, d.timetable_description,
                COALESCE((SELECT array_agg(t.name ORDER BY t.name) FROM dag_tag t
                           WHERE t.dag_id = d.dag_id), '{{}}') AS tags,
                d.max_active_tasks, d.max_active_runs, d.max_consecutive_failed_dag_runs,
                d.has_task_concurrency_limits,
                EXISTS (SELECT 1 FROM import_error e WHERE e.filename = d.fileloc)
                    AS has_import_errors,
                d.next_dagrun, d.next_dagrun_data_interval_start,
                d.next_dagrun_data_interval_end, d.next_dagrun_create_after, d.owners,
                count(*) OVER () AS total
           FROM dag d
          WHERE ($1::text IS NULL OR d.dag_id = $1)
            AND ($2::text IS NULL OR d.dag_id ILIKE '%' || $2 || '%')
            AND (cardinality($3::text[]) = 0
                 OR (NOT $4 AND EXISTS (SELECT 1 FROM dag_tag t
                                         WHERE t.dag_id = d.dag_id AND t.name = ANY($3)))
                 OR ($4 AND (SELECT count(DISTINCT t.name) FROM dag_tag t
                              WHERE t.dag_id = d.dag_id AND t.name = ANY($3))
                            = cardinality(ARRAY(SELECT DISTINCT unnest($3::text[])))))
            AND ($5::boolean IS NULL OR d.is_paused = $5)
            AND (NOT $6 OR d.is_active)
          ORDER BY {} {direction} NULLS LAST, d.dag_id {direction}
          LIMIT $7 OFFSET $8",
        q.order_by.column()
    );
    let rows: Vec<DagEntry> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&q.dag_id)
        .bind(&q.dag_id_pattern)
        .bind(&q.tags)
        .bind(q.tags_match_all)
        .bind(q.paused)
        .bind(q.only_active)
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(pool)
        .await?;
    let total = match rows.first() {
        Some(r) => r.total,
        // An offset past the end returns no row to carry the total.
        None if q.offset > 0 || q.limit == 0 => {
            let first = DagQuery {
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
