//! The web UI's DAG list: active DAGs with tags, owner, schedule, their
//! latest runs' states and the next run, filtered by id, tags and paused.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::Result;

/// Filters of the DAG list (Airflow's `/home?search=&tags=&paused=`).
#[derive(Debug, Clone, Default)]
pub struct DagListFilter {
    /// A substring of the DAG id, case-insensitive.
    pub search: Option<String>,
    /// DAGs with any of these tags.
    pub tags: Vec<String>,
    pub paused: Option<bool>,
}

/// A row of the DAG list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DagListRow {
    pub dag_id: String,
    pub is_paused: bool,
    pub owners: String,
    pub schedule_summary: Option<String>,
    pub tags: Vec<String>,
    /// The latest [`RECENT_RUNS`] runs, newest first: (run_id, state).
    pub recent_run_ids: Vec<String>,
    pub recent_run_states: Vec<String>,
    pub last_run_after: Option<DateTime<Utc>>,
    pub next_run_after: Option<DateTime<Utc>>,
}

/// How many of a DAG's latest runs the list shows as state dots.
pub const RECENT_RUNS: i64 = 10;

pub async fn list(pool: &PgPool, filter: &DagListFilter) -> Result<Vec<DagListRow>> {
    let search = filter.search.as_deref().filter(|s| !s.is_empty()).map(|s| {
        format!(
            "%{}%",
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    Ok(sqlx::query_as(
        "SELECT d.dag_id, d.is_paused, d.owners, d.schedule_summary,
                COALESCE((SELECT array_agg(t.name ORDER BY t.name) FROM dag_tag t
                           WHERE t.dag_id = d.dag_id), '{}') AS tags,
                COALESCE(r.run_ids, '{}') AS recent_run_ids,
                COALESCE(r.states, '{}') AS recent_run_states,
                r.last_after AS last_run_after,
                d.next_dagrun_create_after AS next_run_after
           FROM dag d
           LEFT JOIN LATERAL (SELECT array_agg(x.run_id ORDER BY x.run_after DESC, x.id DESC) AS run_ids,
                                     array_agg(x.state ORDER BY x.run_after DESC, x.id DESC) AS states,
                                     max(x.run_after) AS last_after
                                FROM (SELECT id, run_id, state, run_after FROM dag_run
                                       WHERE dag_id = d.dag_id
                                       ORDER BY run_after DESC, id DESC LIMIT $4) x) r ON true
          WHERE d.is_active
            AND ($1::text IS NULL OR d.dag_id ILIKE $1)
            AND (cardinality($2::text[]) = 0
                 OR EXISTS (SELECT 1 FROM dag_tag t WHERE t.dag_id = d.dag_id AND t.name = ANY($2)))
            AND ($3::boolean IS NULL OR d.is_paused = $3)
          ORDER BY d.dag_id",
    )
    .bind(search)
    .bind(&filter.tags)
    .bind(filter.paused)
    .bind(RECENT_RUNS)
    .fetch_all(pool)
    .await?)
}

/// Every tag of an active DAG (the tag filter's choices).
pub async fn all_tags(pool: &PgPool) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT t.name FROM dag_tag t JOIN dag d ON d.dag_id = t.dag_id
          WHERE d.is_active ORDER BY t.name",
    )
    .fetch_all(pool)
    .await?)
}
