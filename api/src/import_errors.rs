//! Import errors: the DAG files that failed to parse, listed and by id.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use updraft_core::auth::permissions::Action;
use updraft_core::store::import_errors::{self, ImportErrorRow};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Page, Params, PathOf};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_import_errors))
        .routes(routes!(get_import_error))
}

/// `ImportErrorResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportErrorResponse {
    pub import_error_id: i64,
    pub timestamp: DateTime<Utc>,
    pub filename: String,
    pub bundle_name: Option<String>,
    /// The message, then the traceback.
    pub stack_trace: String,
}

impl From<ImportErrorRow> for ImportErrorResponse {
    fn from(e: ImportErrorRow) -> Self {
        let stack_trace = if e.stacktrace.is_empty() {
            e.message
        } else {
            format!("{}\n{}", e.message, e.stacktrace)
        };
        Self {
            import_error_id: e.id,
            timestamp: e.created_at,
            filename: e.filename,
            bundle_name: Some("dags-folder".to_owned()),
            stack_trace,
        }
    }
}

/// A page of import errors.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportErrorCollectionResponse {
    pub import_errors: Vec<ImportErrorResponse>,
    pub total_entries: i64,
}

/// List import errors.
#[utoipa::path(get, path = "/importErrors", tag = "Import Error",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses(
        (status = 200, body = ImportErrorCollectionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_import_errors(
    State(state): State<ApiState>,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<ImportErrorCollectionResponse>> {
    serve_get_import_errors(state, caller, params).await
}

/// `get_import_errors` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_import_errors(
    state: ApiState,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<ImportErrorCollectionResponse>> {
    caller.require(Action::ReadDags)?;
    let page = Page::from_params(&params)?;
    let rows = import_errors::list(&state.pool).await?;
    let total_entries = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let import_errors = rows
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(ImportErrorResponse::from)
        .collect();
    Ok(axum::Json(ImportErrorCollectionResponse {
        import_errors,
        total_entries,
    }))
}

/// Get an import error.
#[utoipa::path(get, path = "/importErrors/{import_error_id}", tag = "Import Error",
    params(("import_error_id" = i64, Path)),
    responses(
        (status = 200, body = ImportErrorResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_import_error(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(id): PathOf<i64>,
) -> ApiResult<axum::Json<ImportErrorResponse>> {
    serve_get_import_error(state, caller, id).await
}

/// `get_import_error` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_import_error(
    state: ApiState,
    caller: Caller,
    id: i64,
) -> ApiResult<axum::Json<ImportErrorResponse>> {
    caller.require(Action::ReadDags)?;
    let row = import_errors::get(&state.pool, id).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "The ImportError with import_error_id: `{id}` was not found"
        ))
    })?;
    Ok(axum::Json(row.into()))
}
