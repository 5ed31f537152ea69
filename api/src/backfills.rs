//! Backfills: list (per DAG, as Airflow), get, create, dry run, pause,
//! unpause and cancel, all through `scheduler::backfill` (as the UI and the
//! CLI); the reads through `core::store::backfills`.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use updraft_core::auth::permissions::Action;
use updraft_core::store::backfills::{self, BackfillRow, Reprocess};
use updraft_scheduler::Error as SchedError;
use updraft_scheduler::backfill::{self, BackfillRequest, DEFAULT_MAX_ACTIVE_RUNS};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Body, Page, Params, PathOf, order_by};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_backfills, create_backfill))
        .routes(routes!(get_backfill))
        .routes(routes!(pause_backfill))
        .routes(routes!(unpause_backfill))
        .routes(routes!(cancel_backfill))
        .routes(routes!(create_backfill_dry_run))
}

/// Airflow's `BackfillResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackfillResponse {
    pub id: i64,
    pub dag_id: String,
    pub from_date: DateTime<Utc>,
    pub to_date: DateTime<Utc>,
    pub dag_run_conf: Value,
    pub is_paused: bool,
    /// none, failed or completed.
    pub reprocess_behavior: String,
    pub max_active_runs: i32,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// We keep no separate update time: the completion, else the creation.
    pub updated_at: DateTime<Utc>,
    pub dag_display_name: String,
}

impl From<BackfillRow> for BackfillResponse {
    fn from(b: BackfillRow) -> Self {
        Self {
            updated_at: b.completed_at.unwrap_or(b.created_at),
            dag_display_name: b.dag_id.clone(),
            id: b.id,
            dag_id: b.dag_id,
            from_date: b.from_date,
            to_date: b.to_date,
            dag_run_conf: b.dag_run_conf,
            is_paused: b.is_paused,
            reprocess_behavior: b.reprocess_behavior,
            max_active_runs: b.max_active_runs,
            created_at: b.created_at,
            completed_at: b.completed_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BackfillCollectionResponse {
    pub backfills: Vec<BackfillResponse>,
    pub total_entries: i64,
}

/// One date a backfill would run.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunBackfillResponse {
    pub logical_date: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunBackfillCollectionResponse {
    pub backfills: Vec<DryRunBackfillResponse>,
    pub total_entries: i64,
}

/// `BackfillPostBody`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BackfillPostBody {
    pub dag_id: String,
    pub from_date: DateTime<Utc>,
    pub to_date: DateTime<Utc>,
    #[serde(default)]
    pub run_backwards: bool,
    #[serde(default)]
    pub dag_run_conf: Option<Value>,
    /// none (default), failed or completed.
    #[serde(default)]
    pub reprocess_behavior: Option<String>,
    #[serde(default)]
    pub max_active_runs: Option<i32>,
    /// Accepted for the 3.1 client; runs always use the latest version.
    #[serde(default)]
    #[allow(dead_code)]
    pub run_on_latest_version: Option<bool>,
}

impl BackfillPostBody {
    fn request(self) -> ApiResult<BackfillRequest> {
        let reprocess = match self.reprocess_behavior.as_deref() {
            None => Reprocess::default(),
            Some(raw) => Reprocess::parse(raw).ok_or_else(|| {
                ApiError::invalid(
                    &["body", "reprocess_behavior"],
                    "enum",
                    format!("Input should be 'none', 'failed' or 'completed', got {raw:?}"),
                )
            })?,
        };
        let dag_run_conf = self.dag_run_conf.unwrap_or_else(|| serde_json::json!({}));
        if !dag_run_conf.is_object() {
            return Err(ApiError::invalid(
                &["body", "dag_run_conf"],
                "dict_type",
                "Input should be a valid dictionary",
            ));
        }
        let max_active_runs = self.max_active_runs.unwrap_or(DEFAULT_MAX_ACTIVE_RUNS);
        if max_active_runs < 1 {
            return Err(ApiError::invalid(
                &["body", "max_active_runs"],
                "greater_than_equal",
                "Input should be greater than or equal to 1",
            ));
        }
        if self.from_date > self.to_date {
            return Err(ApiError::invalid(
                &["body"],
                "value_error",
                "from_date must be before or equal to to_date",
            ));
        }
        Ok(BackfillRequest {
            dag_id: self.dag_id,
            from_date: self.from_date,
            to_date: self.to_date,
            run_backwards: self.run_backwards,
            dag_run_conf,
            reprocess,
            max_active_runs,
        })
    }
}

/// The scheduler's backfill refusals in Airflow's codes.
fn refused(e: SchedError) -> ApiError {
    match e {
        SchedError::BackfillRunning(_) | SchedError::BackfillCompleted(_) => {
            ApiError::Conflict(e.to_string())
        }
        // Airflow answers an unscheduled DAG as invalid input too.
        SchedError::NoSchedule(_) | SchedError::InvalidBackfill(_) | SchedError::InvalidConf(_) => {
            ApiError::invalid(&["body"], "value_error", e.to_string())
        }
        SchedError::BackfillNotFound(id) => backfill_not_found(id),
        other => other.into(),
    }
}

fn backfill_not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("Could not find backfill with id {id}"))
}

/// Airflow orders backfills by `id` only.
fn parse_order(name: &str) -> Option<()> {
    (name == "id").then_some(())
}

/// List the backfills of a DAG.
#[utoipa::path(get, path = "/backfills", tag = "Backfill",
    params(
        ("dag_id" = String, Query),
        ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
        ("order_by" = Option<String>, Query, description = "id; `-` for descending"),
    ),
    responses(
        (status = 200, body = BackfillCollectionResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn list_backfills(
    State(state): State<ApiState>,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<BackfillCollectionResponse>> {
    caller.require(Action::ReadDags)?;
    let page = Page::from_params(&params)?;
    let ((), descending) = order_by(&params, (), parse_order)?;
    let Some(dag_id) = params.get("dag_id") else {
        return Err(ApiError::invalid(
            &["query", "dag_id"],
            "missing",
            "Field required",
        ));
    };
    let mut conn = state.pool.acquire().await?;
    let mut rows = backfills::list(&mut conn, Some(dag_id)).await?;
    rows.sort_by_key(|b| b.id);
    if descending {
        rows.reverse();
    }
    let total_entries = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let take = usize::try_from(page.limit).unwrap_or(0);
    Ok(axum::Json(BackfillCollectionResponse {
        backfills: rows
            .into_iter()
            .skip(skip)
            .take(take)
            .map(BackfillResponse::from)
            .collect(),
        total_entries,
    }))
}

/// Get a backfill.
#[utoipa::path(get, path = "/backfills/{backfill_id}", tag = "Backfill",
    params(("backfill_id" = i64, Path)),
    responses(
        (status = 200, body = BackfillResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_backfill(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(id): PathOf<i64>,
) -> ApiResult<axum::Json<BackfillResponse>> {
    caller.require(Action::ReadDags)?;
    let mut conn = state.pool.acquire().await?;
    let row = backfills::get(&mut conn, id)
        .await?
        .ok_or_else(|| backfill_not_found(id))?;
    Ok(axum::Json(row.into()))
}

/// Create a backfill: its runs are queued and the scheduler starts them.
#[utoipa::path(post, path = "/backfills", tag = "Backfill",
    request_body = BackfillPostBody,
    responses(
        (status = 200, body = BackfillResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 409, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn create_backfill(
    State(state): State<ApiState>,
    caller: Caller,
    Body(body): Body<BackfillPostBody>,
) -> ApiResult<axum::Json<BackfillResponse>> {
    caller.require(Action::ManageBackfills)?;
    let req = body.request()?;
    let created = backfill::create(
        &state.pool,
        &state.schedule,
        &req,
        &caller.username,
        Utc::now(),
    )
    .await
    .map_err(refused)?;
    Ok(axum::Json(created.backfill.into()))
}

/// What a backfill would run, without creating it.
#[utoipa::path(post, path = "/backfills/dry_run", tag = "Backfill",
    request_body = BackfillPostBody,
    responses(
        (status = 200, body = DryRunBackfillCollectionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 409, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn create_backfill_dry_run(
    State(state): State<ApiState>,
    caller: Caller,
    Body(body): Body<BackfillPostBody>,
) -> ApiResult<axum::Json<DryRunBackfillCollectionResponse>> {
    caller.require(Action::ManageBackfills)?;
    let req = body.request()?;
    let planned = backfill::dry_run(&state.pool, &state.schedule, &req, Utc::now())
        .await
        .map_err(refused)?;
    let backfills: Vec<DryRunBackfillResponse> = planned
        .iter()
        .filter(|p| p.runs())
        .map(|p| DryRunBackfillResponse {
            logical_date: p.logical_date,
        })
        .collect();
    Ok(axum::Json(DryRunBackfillCollectionResponse {
        total_entries: i64::try_from(backfills.len()).unwrap_or(i64::MAX),
        backfills,
    }))
}

/// Pause a backfill: none of its queued runs start until it is unpaused.
#[utoipa::path(put, path = "/backfills/{backfill_id}/pause", tag = "Backfill",
    params(("backfill_id" = i64, Path)),
    responses(
        (status = 200, body = BackfillResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 409, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn pause_backfill(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(id): PathOf<i64>,
) -> ApiResult<axum::Json<BackfillResponse>> {
    caller.require(Action::ManageBackfills)?;
    let row = backfill::pause(&state.pool, id, &caller.username)
        .await
        .map_err(refused)?;
    Ok(axum::Json(row.into()))
}

/// Resume a paused backfill.
#[utoipa::path(put, path = "/backfills/{backfill_id}/unpause", tag = "Backfill",
    params(("backfill_id" = i64, Path)),
    responses(
        (status = 200, body = BackfillResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 409, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn unpause_backfill(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(id): PathOf<i64>,
) -> ApiResult<axum::Json<BackfillResponse>> {
    caller.require(Action::ManageBackfills)?;
    let row = backfill::unpause(&state.pool, id, &caller.username)
        .await
        .map_err(refused)?;
    Ok(axum::Json(row.into()))
}

/// Cancel a backfill: its queued runs fail, running ones finish.
#[utoipa::path(put, path = "/backfills/{backfill_id}/cancel", tag = "Backfill",
    params(("backfill_id" = i64, Path)),
    responses(
        (status = 200, body = BackfillResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 409, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn cancel_backfill(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(id): PathOf<i64>,
) -> ApiResult<axum::Json<BackfillResponse>> {
    caller.require(Action::ManageBackfills)?;
    let row = backfill::cancel(&state.pool, id, &caller.username, Utc::now())
        .await
        .map_err(refused)?;
    Ok(axum::Json(row.into()))
}
