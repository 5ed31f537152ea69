//! `GET /dags`, `GET /dags/{dag_id}`, `PATCH /dags/{dag_id}` in Airflow 2's
//! `DAG` shape, answered by the functions behind the v2 handlers.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::BasicCaller;
use super::error::{Json, PathOf, Query, V1Error, V1Result};
use crate::ApiState;
use crate::dags::{self as v2, DagPatchBody, DagResponse};

/// A tag (`Tag`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Tag {
    pub name: String,
}

/// Airflow 2.10's `DAG`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dag {
    pub dag_id: String,
    pub dag_display_name: String,
    pub root_dag_id: Option<String>,
    pub is_paused: bool,
    pub is_active: bool,
    pub is_subdag: bool,
    pub last_parsed_time: Option<DateTime<Utc>>,
    pub last_pickled: Option<DateTime<Utc>>,
    pub last_expired: Option<DateTime<Utc>>,
    pub scheduler_lock: Option<bool>,
    pub pickle_id: Option<String>,
    pub default_view: Option<String>,
    pub fileloc: String,
    pub file_token: String,
    pub owners: Vec<String>,
    pub description: Option<String>,
    /// Airflow's `ScheduleInterval` (a cron object, a delta, or null).
    pub schedule_interval: Option<Value>,
    pub timetable_description: Option<String>,
    pub tags: Vec<Tag>,
    pub max_active_tasks: i32,
    pub max_active_runs: Option<i32>,
    pub max_consecutive_failed_dag_runs: i32,
    pub has_task_concurrency_limits: bool,
    pub has_import_errors: bool,
    pub next_dagrun: Option<DateTime<Utc>>,
    pub next_dagrun_data_interval_start: Option<DateTime<Utc>>,
    pub next_dagrun_data_interval_end: Option<DateTime<Utc>>,
    pub next_dagrun_create_after: Option<DateTime<Utc>>,
}

/// A schedule summary as `ScheduleInterval`: a cron expression (or an
/// `@preset`) becomes `CronExpression`; timetables without one are null,
/// which the spec allows.
fn schedule_interval(summary: Option<&str>) -> Option<Value> {
    let s = summary?.trim();
    let cron_like = s.starts_with('@') || s.split_whitespace().count() == 5;
    cron_like.then(|| serde_json::json!({"__type": "CronExpression", "value": s}))
}

impl From<DagResponse> for Dag {
    fn from(d: DagResponse) -> Self {
        Self {
            schedule_interval: schedule_interval(d.timetable_summary.as_deref()),
            dag_display_name: d.dag_display_name,
            root_dag_id: None,
            is_paused: d.is_paused,
            is_active: d.is_active,
            is_subdag: false,
            last_parsed_time: d.last_parsed_time,
            last_pickled: None,
            last_expired: d.last_expired,
            scheduler_lock: None,
            pickle_id: None,
            default_view: Some("grid".to_owned()),
            fileloc: d.fileloc,
            file_token: d.file_token,
            owners: d.owners,
            description: d.description,
            timetable_description: d.timetable_description,
            tags: d.tags.into_iter().map(|t| Tag { name: t.name }).collect(),
            max_active_tasks: d.max_active_tasks,
            max_active_runs: d.max_active_runs,
            max_consecutive_failed_dag_runs: d.max_consecutive_failed_dag_runs,
            has_task_concurrency_limits: d.has_task_concurrency_limits,
            has_import_errors: d.has_import_errors,
            next_dagrun: d.next_dagrun_logical_date,
            next_dagrun_data_interval_start: d.next_dagrun_data_interval_start,
            next_dagrun_data_interval_end: d.next_dagrun_data_interval_end,
            next_dagrun_create_after: d.next_dagrun_run_after,
            dag_id: d.dag_id,
        }
    }
}

/// `DAGCollection`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DagCollection {
    pub dags: Vec<Dag>,
    pub total_entries: i64,
}

#[utoipa::path(get, path = "/dags", tag = "DAG",
    responses(
        (status = 200, body = DagCollection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_dags(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    Query(params): Query,
) -> V1Result<axum::Json<DagCollection>> {
    let page = v2::serve_get_dags(state, caller, params).await?.0;
    Ok(axum::Json(DagCollection {
        dags: page.dags.into_iter().map(Dag::from).collect(),
        total_entries: page.total_entries,
    }))
}

#[utoipa::path(get, path = "/dags/{dag_id}", tag = "DAG",
    params(("dag_id" = String, Path)),
    responses(
        (status = 200, body = Dag),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_dag(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(dag_id): PathOf<String>,
) -> V1Result<axum::Json<Dag>> {
    let dag = v2::serve_get_dag(state, caller, dag_id).await?.0;
    Ok(axum::Json(dag.into()))
}

/// Airflow 2 takes a whole `DAG` object; only `is_paused` may change.
#[utoipa::path(patch, path = "/dags/{dag_id}", tag = "DAG",
    params(("dag_id" = String, Path)),
    responses(
        (status = 200, body = Dag),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn patch_dag(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(dag_id): PathOf<String>,
    Query(params): Query,
    Json(body): Json<Value>,
) -> V1Result<axum::Json<Dag>> {
    let is_paused = body
        .get("is_paused")
        .and_then(Value::as_bool)
        .ok_or_else(|| V1Error::bad_request("`is_paused` (a boolean) is required"))?;
    let dag = v2::serve_patch_dag(state, caller, dag_id, params, DagPatchBody { is_paused })
        .await?
        .0;
    Ok(axum::Json(dag.into()))
}
