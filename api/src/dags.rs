//! DAGs: `GET /dags` (paged, filtered, ordered), `GET /dags/{dag_id}`,
//! `PATCH /dags/{dag_id}` (`is_paused`), `GET /dags/{dag_id}/details`.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use updraft_core::auth::permissions::Action;
use updraft_core::store::dag_catalog::{self, DagEntry, DagOrder, DagQuery};
use updraft_core::store::{dag_runs, dags};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Body, Page, Params, PathOf, order_by};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_dags))
        .routes(routes!(get_dag, patch_dag))
        .routes(routes!(get_dag_details))
}

/// A tag of a DAG.
#[derive(Debug, Serialize, ToSchema)]
pub struct DagTagResponse {
    pub name: String,
    pub dag_id: String,
    pub dag_display_name: String,
}

/// A DAG, as Airflow's `DAGResponse` (with both 3.0's `is_active` and
/// 3.1's `is_stale`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DagResponse {
    pub dag_id: String,
    pub dag_display_name: String,
    pub is_paused: bool,
    pub is_active: bool,
    pub is_stale: bool,
    pub last_parsed_time: Option<DateTime<Utc>>,
    pub last_parse_duration: Option<f64>,
    pub last_expired: Option<DateTime<Utc>>,
    pub bundle_name: String,
    pub bundle_version: Option<String>,
    pub relative_fileloc: String,
    pub fileloc: String,
    pub file_token: String,
    pub description: Option<String>,
    pub timetable_summary: Option<String>,
    pub timetable_description: Option<String>,
    pub timetable_partitioned: bool,
    pub tags: Vec<DagTagResponse>,
    pub max_active_tasks: i32,
    pub max_active_runs: Option<i32>,
    pub max_consecutive_failed_dag_runs: i32,
    pub has_task_concurrency_limits: bool,
    pub has_import_errors: bool,
    pub next_dagrun_logical_date: Option<DateTime<Utc>>,
    pub next_dagrun_data_interval_start: Option<DateTime<Utc>>,
    pub next_dagrun_data_interval_end: Option<DateTime<Utc>>,
    pub next_dagrun_run_after: Option<DateTime<Utc>>,
    pub owners: Vec<String>,
}

/// Airflow's default `[core] max_active_tasks_per_dag`, shown when the DAG
/// sets none.
const DEFAULT_MAX_ACTIVE_TASKS: i32 = 16;

impl From<DagEntry> for DagResponse {
    fn from(d: DagEntry) -> Self {
        let display = d.dag_display_name.unwrap_or_else(|| d.dag_id.clone());
        let tags = d
            .tags
            .into_iter()
            .map(|name| DagTagResponse {
                name,
                dag_id: d.dag_id.clone(),
                dag_display_name: display.clone(),
            })
            .collect();
        Self {
            dag_display_name: display,
            is_paused: d.is_paused,
            is_active: d.is_active,
            is_stale: !d.is_active,
            last_parsed_time: Some(d.last_parsed_at),
            last_parse_duration: None,
            last_expired: d.last_expired_at,
            bundle_name: "dags-folder".to_owned(),
            bundle_version: None,
            file_token: hex::encode(d.relative_fileloc.as_bytes()),
            relative_fileloc: d.relative_fileloc,
            fileloc: d.fileloc,
            description: d.description,
            timetable_summary: d.schedule_summary.filter(|s| s != "None"),
            timetable_description: d.timetable_description,
            timetable_partitioned: false,
            tags,
            max_active_tasks: d.max_active_tasks.unwrap_or(DEFAULT_MAX_ACTIVE_TASKS),
            max_active_runs: d.max_active_runs,
            max_consecutive_failed_dag_runs: d.max_consecutive_failed_dag_runs,
            has_task_concurrency_limits: d.has_task_concurrency_limits,
            has_import_errors: d.has_import_errors,
            next_dagrun_logical_date: d.next_dagrun,
            next_dagrun_data_interval_start: d.next_dagrun_data_interval_start,
            next_dagrun_data_interval_end: d.next_dagrun_data_interval_end,
            next_dagrun_run_after: d.next_dagrun_create_after,
            owners: d
                .owners
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            dag_id: d.dag_id,
        }
    }
}

/// A page of DAGs.
#[derive(Debug, Serialize, ToSchema)]
pub struct DagCollectionResponse {
    pub dags: Vec<DagResponse>,
    pub total_entries: i64,
}

/// The query of `GET /dags` from its parameters.
fn dag_query(p: &Params) -> ApiResult<DagQuery> {
    let page = Page::from_params(p)?;
    let (order, descending) = order_by(p, DagOrder::DagId, DagOrder::parse)?;
    let tags_match_all = match p.get("tags_match_mode") {
        None | Some("any") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                &["query", "tags_match_mode"],
                "enum",
                format!("Input should be 'any' or 'all', got {other:?}"),
            ));
        }
    };
    Ok(DagQuery {
        dag_id: None,
        dag_id_pattern: p
            .get("dag_id_pattern")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        tags: p.all("tags"),
        tags_match_all,
        paused: p.bool("paused")?,
        only_active: p
            .bool("exclude_stale")?
            .or(p.bool("only_active")?)
            .unwrap_or(true),
        order_by: order,
        descending,
        limit: page.limit,
        offset: page.offset,
    })
}

/// List DAGs.
#[utoipa::path(get, path = "/dags", tag = "DAG",
    params(
        ("limit" = Option<i64>, Query, description = "At most 100 (default 50)"),
        ("offset" = Option<i64>, Query),
        ("order_by" = Option<String>, Query, description = "dag_id, dag_display_name, next_dagrun, last_parsed_time, is_paused; `-` for descending"),
        ("tags" = Option<Vec<String>>, Query),
        ("tags_match_mode" = Option<String>, Query, description = "any (default) or all"),
        ("paused" = Option<bool>, Query),
        ("exclude_stale" = Option<bool>, Query),
        ("dag_id_pattern" = Option<String>, Query, description = "SQL LIKE pattern (% and _) matched anywhere in the id"),
    ),
    responses(
        (status = 200, body = DagCollectionResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_dags(
    State(state): State<ApiState>,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<DagCollectionResponse>> {
    serve_get_dags(state, caller, params).await
}

/// `get_dags` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_dags(
    state: ApiState,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<DagCollectionResponse>> {
    caller.require(Action::ReadDags)?;
    let query = dag_query(&params)?;
    let (rows, total_entries) = dag_catalog::page(&state.pool, &query).await?;
    Ok(axum::Json(DagCollectionResponse {
        dags: rows.into_iter().map(DagResponse::from).collect(),
        total_entries,
    }))
}

/// One DAG by id, active or not.
async fn one(state: &ApiState, dag_id: &str) -> ApiResult<DagEntry> {
    let query = DagQuery {
        dag_id: Some(dag_id.to_owned()),
        only_active: false,
        limit: 1,
        ..DagQuery::default()
    };
    let (mut rows, _) = dag_catalog::page(&state.pool, &query).await?;
    rows.pop()
        .ok_or_else(|| ApiError::NotFound(format!("Dag with id {dag_id} was not found")))
}

/// Get a DAG.
#[utoipa::path(get, path = "/dags/{dag_id}", tag = "DAG",
    params(("dag_id" = String, Path)),
    responses(
        (status = 200, body = DagResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn get_dag(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(dag_id): PathOf<String>,
) -> ApiResult<axum::Json<DagResponse>> {
    serve_get_dag(state, caller, dag_id).await
}

/// `get_dag` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_dag(
    state: ApiState,
    caller: Caller,
    dag_id: String,
) -> ApiResult<axum::Json<DagResponse>> {
    caller.require(Action::ReadDags)?;
    Ok(axum::Json(one(&state, &dag_id).await?.into()))
}

/// `PATCH /dags/{dag_id}`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DagPatchBody {
    pub is_paused: bool,
}

/// Pause or unpause a DAG.
#[utoipa::path(patch, path = "/dags/{dag_id}", tag = "DAG",
    params(("dag_id" = String, Path), ("update_mask" = Option<Vec<String>>, Query)),
    request_body = DagPatchBody,
    responses(
        (status = 200, body = DagResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn patch_dag(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(dag_id): PathOf<String>,
    params: Params,
    Body(body): Body<DagPatchBody>,
) -> ApiResult<axum::Json<DagResponse>> {
    serve_patch_dag(state, caller, dag_id, params, body).await
}

/// `patch_dag` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_patch_dag(
    state: ApiState,
    caller: Caller,
    dag_id: String,
    params: Params,
    body: DagPatchBody,
) -> ApiResult<axum::Json<DagResponse>> {
    caller.require(Action::EditDags)?;
    let mask = params.all("update_mask");
    if !mask.is_empty() && mask.iter().any(|m| m != "is_paused") {
        return Err(ApiError::BadRequest(
            "Only `is_paused` field can be updated through the REST API".to_owned(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    if !dag_runs::set_paused(&mut tx, &dag_id, body.is_paused).await? {
        return Err(ApiError::NotFound(format!(
            "Dag with id: {dag_id} was not found"
        )));
    }
    caller
        .audit(
            &mut tx,
            if body.is_paused { "paused" } else { "unpaused" },
            Some(&dag_id),
            serde_json::json!({"is_paused": body.is_paused}),
        )
        .await?;
    tx.commit().await?;
    Ok(axum::Json(one(&state, &dag_id).await?.into()))
}

/// A DAG with what its serialized form adds (`DAGDetailsResponse`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DagDetailsResponse {
    #[serde(flatten)]
    pub dag: DagResponse,
    pub catchup: bool,
    /// ISO 8601 duration, as pydantic writes a `timedelta`.
    pub dag_run_timeout: Option<String>,
    pub asset_expression: Option<Value>,
    pub doc_md: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub is_paused_upon_creation: Option<bool>,
    pub params: Option<Value>,
    pub render_template_as_native_obj: bool,
    pub template_search_path: Option<Vec<String>>,
    pub timezone: Option<String>,
    pub last_parsed: Option<DateTime<Utc>>,
    pub concurrency: i32,
    pub default_args: Option<Value>,
}

/// Get a DAG with the details of its current version.
#[utoipa::path(get, path = "/dags/{dag_id}/details", tag = "DAG",
    params(("dag_id" = String, Path)),
    responses(
        (status = 200, body = DagDetailsResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn get_dag_details(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(dag_id): PathOf<String>,
) -> ApiResult<axum::Json<DagDetailsResponse>> {
    caller.require(Action::ReadDags)?;
    let dag = DagResponse::from(one(&state, &dag_id).await?);
    let serialized = dags::serialized(&state.pool, &dag_id)
        .await?
        .unwrap_or(Value::Null);
    let field = |k: &str| serialized.get(k).filter(|v| !v.is_null()).cloned();
    let text = |k: &str| field(k).and_then(|v| v.as_str().map(str::to_owned));
    Ok(axum::Json(DagDetailsResponse {
        catchup: field("catchup").and_then(|v| v.as_bool()).unwrap_or(false),
        dag_run_timeout: field("dagrun_timeout")
            .and_then(|v| v.as_f64())
            .map(iso_duration),
        asset_expression: field("asset_expression"),
        doc_md: text("doc_md"),
        start_date: text("start_date"),
        end_date: text("end_date"),
        is_paused_upon_creation: field("is_paused_upon_creation").and_then(|v| v.as_bool()),
        params: field("params"),
        render_template_as_native_obj: field("render_template_as_native_obj")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        template_search_path: field("template_searchpath").and_then(|v| {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
        }),
        timezone: text("timezone"),
        last_parsed: dag.last_parsed_time,
        concurrency: dag.max_active_tasks,
        default_args: field("default_args"),
        dag,
    }))
}

/// Seconds as an ISO 8601 duration (`PT90S`, `P1DT30S`), as pydantic
/// serializes a `timedelta`.
fn iso_duration(secs: f64) -> String {
    let days = (secs / 86_400.0).floor();
    let rest = secs - days * 86_400.0;
    match (days > 0.0, rest > 0.0) {
        (true, true) => format!("P{days}DT{rest}S"),
        (true, false) => format!("P{days}D"),
        _ => format!("PT{rest}S"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_pydantic_writes_them() {
        assert_eq!(super::iso_duration(90.0), "PT90S");
        assert_eq!(super::iso_duration(86_400.0), "P1D");
        assert_eq!(super::iso_duration(86_430.0), "P1DT30S");
    }
}
