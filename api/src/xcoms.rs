//! A task instance's XCom entries: list and get (read only here; Airflow
//! 3 also lets one write them).

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use updraft_core::auth::permissions::Action;
use updraft_core::store::ti_catalog::TiEntry;
use updraft_core::store::xcom;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse};
use crate::extract::{Page, Params, PathOf};
use crate::task_instances::one;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_xcom_entries))
        .routes(routes!(get_xcom_entry))
}

/// An XCom entry (`XComResponseNative` with `deserialize=true`, else
/// `XComResponseString`: the value as JSON text).
#[derive(Debug, Serialize, ToSchema)]
pub struct XComResponse {
    pub key: String,
    pub timestamp: DateTime<Utc>,
    pub logical_date: Option<DateTime<Utc>>,
    pub map_index: i32,
    pub task_id: String,
    pub dag_id: String,
    pub run_id: String,
    pub dag_display_name: String,
    pub task_display_name: String,
    pub run_after: DateTime<Utc>,
    /// Present in one entry, not in lists (as Airflow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// A page of XCom entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct XComCollectionResponse {
    pub xcom_entries: Vec<XComResponse>,
    pub total_entries: i64,
}

async fn xcoms(
    state: &ApiState,
    (dag_id, run_id, task_id): (&str, &str, &str),
    params: &Params,
    key: Option<&str>,
) -> ApiResult<(TiEntry, Vec<xcom::XComEntry>)> {
    let map_index = params.parse("map_index", "int_parsing")?.unwrap_or(-1);
    let ti = one(state, dag_id, run_id, task_id, map_index).await?;
    let mut conn = state.pool.acquire().await?;
    let rows = xcom::entries_for_ti(&mut conn, ti.id, key).await?;
    Ok((ti, rows))
}

fn xcom_response(ti: &TiEntry, row: xcom::XComEntry, value: Option<Value>) -> XComResponse {
    XComResponse {
        key: row.key,
        timestamp: row.created_at,
        logical_date: ti.logical_date,
        map_index: ti.map_index,
        task_id: ti.task_id.clone(),
        dag_id: ti.dag_id.clone(),
        run_id: ti.run_id.clone(),
        dag_display_name: ti
            .dag_display_name
            .clone()
            .unwrap_or_else(|| ti.dag_id.clone()),
        task_display_name: ti.task_id.clone(),
        run_after: ti.run_after,
        value,
    }
}

/// List the XCom entries of a task instance.
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries",
    tag = "XCom",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path),
           ("map_index" = Option<i32>, Query), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses(
        (status = 200, body = XComCollectionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn get_xcom_entries(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id, task_id)): PathOf<(String, String, String)>,
    params: Params,
) -> ApiResult<axum::Json<XComCollectionResponse>> {
    serve_get_xcom_entries(state, caller, (dag_id, run_id, task_id), params).await
}

/// `get_xcom_entries` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_xcom_entries(
    state: ApiState,
    caller: Caller,
    (dag_id, run_id, task_id): (String, String, String),
    params: Params,
) -> ApiResult<axum::Json<XComCollectionResponse>> {
    caller.require(Action::ReadDags)?;
    let page = Page::from_params(&params)?;
    let (ti, rows) = xcoms(&state, (&dag_id, &run_id, &task_id), &params, None).await?;
    let total_entries = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let xcom_entries = rows
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(|r| xcom_response(&ti, r, None))
        .collect();
    Ok(axum::Json(XComCollectionResponse {
        xcom_entries,
        total_entries,
    }))
}

/// Get one XCom entry: with `deserialize=true` its value as JSON, else as
/// JSON text.
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}",
    tag = "XCom",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path),
           ("xcom_key" = String, Path), ("map_index" = Option<i32>, Query),
           ("deserialize" = Option<bool>, Query), ("stringify" = Option<bool>, Query)),
    responses(
        (status = 200, body = XComResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn get_xcom_entry(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id, task_id, key)): PathOf<(String, String, String, String)>,
    params: Params,
) -> ApiResult<axum::Json<XComResponse>> {
    serve_get_xcom_entry(state, caller, (dag_id, run_id, task_id, key), params).await
}

/// `get_xcom_entry` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_xcom_entry(
    state: ApiState,
    caller: Caller,
    (dag_id, run_id, task_id, key): (String, String, String, String),
    params: Params,
) -> ApiResult<axum::Json<XComResponse>> {
    caller.require(Action::ReadDags)?;
    let native = params.bool("deserialize")?.unwrap_or(false);
    params.bool("stringify")?;
    let (ti, mut rows) = xcoms(&state, (&dag_id, &run_id, &task_id), &params, Some(&key)).await?;
    let Some(row) = rows.pop() else {
        return Err(ApiError::NotFound(format!(
            "XCom entry with key: `{key}` not found"
        )));
    };
    let stored = row.value.clone().unwrap_or(Value::Null);
    let value = if native {
        stored
    } else {
        Value::String(stored.to_string())
    };
    Ok(axum::Json(xcom_response(&ti, row, Some(value))))
}
