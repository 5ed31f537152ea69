//! Variables: list, get, create, update, delete (`core::store::variables`,
//! as the UI and `variables set|get|delete`), audited.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use updraft_core::auth::permissions::Action;
use updraft_core::store::variables::{self, VariableRow};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Body, Page, Params, PathOf, order_by};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_variables, post_variable))
        .routes(routes!(get_variable, patch_variable, delete_variable))
}

/// A Variable (`VariableResponse`).
#[derive(Debug, Serialize, ToSchema)]
pub struct VariableResponse {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub is_encrypted: bool,
}

impl From<VariableRow> for VariableResponse {
    fn from(v: VariableRow) -> Self {
        Self {
            key: v.key,
            value: v.val,
            description: v.description,
            is_encrypted: false,
        }
    }
}

/// A page of Variables.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariableCollectionResponse {
    pub variables: Vec<VariableResponse>,
    pub total_entries: i64,
}

/// A Variable to create or update (`VariableBody`): `value` is any JSON;
/// a string is stored as it is, anything else as its JSON text (Airflow's
/// `serialize_json`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableBody {
    pub key: String,
    pub value: Value,
    #[serde(default)]
    pub description: Option<String>,
}

fn stored_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VariableOrder {
    Key,
    Description,
}

/// List Variables.
#[utoipa::path(get, path = "/variables", tag = "Variable",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
           ("order_by" = Option<String>, Query, description = "key or description; `-` for descending"),
           ("variable_key_pattern" = Option<String>, Query, description = "a substring of the key")),
    responses(
        (status = 200, body = VariableCollectionResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_variables(
    State(state): State<ApiState>,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<VariableCollectionResponse>> {
    serve_get_variables(state, caller, params).await
}

/// `get_variables` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_variables(
    state: ApiState,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<VariableCollectionResponse>> {
    caller.require(Action::ReadDags)?;
    let page = Page::from_params(&params)?;
    let (order, descending) = order_by(&params, VariableOrder::Key, |name| match name {
        "key" | "id" => Some(VariableOrder::Key),
        "description" => Some(VariableOrder::Description),
        _ => None,
    })?;
    let pattern = params.get("variable_key_pattern").map(str::to_lowercase);
    let mut conn = state.pool.acquire().await?;
    // A small table: filtered and paged here, read in one statement.
    let mut rows: Vec<VariableRow> = variables::list(&mut conn)
        .await?
        .into_iter()
        .filter(|v| {
            pattern
                .as_ref()
                .is_none_or(|p| v.key.to_lowercase().contains(p))
        })
        .collect();
    if order == VariableOrder::Description {
        rows.sort_by(|a, b| a.description.cmp(&b.description).then(a.key.cmp(&b.key)));
    }
    if descending {
        rows.reverse();
    }
    let total_entries = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let variables = rows
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(VariableResponse::from)
        .collect();
    Ok(axum::Json(VariableCollectionResponse {
        variables,
        total_entries,
    }))
}

fn not_found(key: &str) -> ApiError {
    ApiError::NotFound(format!("The Variable with key: `{key}` was not found"))
}

/// Get a Variable.
#[utoipa::path(get, path = "/variables/{variable_key}", tag = "Variable",
    params(("variable_key" = String, Path)),
    responses(
        (status = 200, body = VariableResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn get_variable(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(key): PathOf<String>,
) -> ApiResult<axum::Json<VariableResponse>> {
    serve_get_variable(state, caller, key).await
}

/// `get_variable` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_variable(
    state: ApiState,
    caller: Caller,
    key: String,
) -> ApiResult<axum::Json<VariableResponse>> {
    caller.require(Action::ReadDags)?;
    let mut conn = state.pool.acquire().await?;
    let row = variables::get(&mut conn, &key)
        .await?
        .ok_or_else(|| not_found(&key))?;
    Ok(axum::Json(row.into()))
}

fn check_key(key: &str) -> ApiResult<()> {
    if key.is_empty() || key.chars().count() > 250 {
        return Err(ApiError::invalid(
            &["body", "key"],
            "string_too_long",
            "The key must be 1 to 250 characters",
        ));
    }
    Ok(())
}

/// Create a Variable (409 when the key exists).
#[utoipa::path(post, path = "/variables", tag = "Variable",
    request_body = VariableBody,
    responses(
        (status = 201, body = VariableResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 409, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn post_variable(
    State(state): State<ApiState>,
    caller: Caller,
    Body(body): Body<VariableBody>,
) -> ApiResult<(StatusCode, axum::Json<VariableResponse>)> {
    serve_post_variable(state, caller, body).await
}

/// `post_variable` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_post_variable(
    state: ApiState,
    caller: Caller,
    body: VariableBody,
) -> ApiResult<(StatusCode, axum::Json<VariableResponse>)> {
    caller.require(Action::EditVariables)?;
    check_key(&body.key)?;
    let mut tx = state.pool.begin().await?;
    if variables::get(&mut tx, &body.key).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "The Variable with key: `{}` already exists",
            body.key
        )));
    }
    let text = stored_text(&body.value);
    variables::set(
        &mut tx,
        &body.key,
        &text,
        Some(body.description.as_deref().unwrap_or("")),
    )
    .await?;
    caller
        .audit(
            &mut tx,
            "variable_create",
            None,
            serde_json::json!({"key": body.key}),
        )
        .await?;
    let row = variables::get(&mut tx, &body.key)
        .await?
        .ok_or_else(|| not_found(&body.key))?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(row.into())))
}

/// Update a Variable (`update_mask`: which of value and description).
#[utoipa::path(patch, path = "/variables/{variable_key}", tag = "Variable",
    params(("variable_key" = String, Path), ("update_mask" = Option<Vec<String>>, Query)),
    request_body = VariableBody,
    responses(
        (status = 200, body = VariableResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn patch_variable(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(key): PathOf<String>,
    params: Params,
    Body(body): Body<VariableBody>,
) -> ApiResult<axum::Json<VariableResponse>> {
    serve_patch_variable(state, caller, key, params, body).await
}

/// `patch_variable` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_patch_variable(
    state: ApiState,
    caller: Caller,
    key: String,
    params: Params,
    body: VariableBody,
) -> ApiResult<axum::Json<VariableResponse>> {
    caller.require(Action::EditVariables)?;
    if body.key != key {
        return Err(ApiError::BadRequest(
            "Invalid body, key from request body doesn't match uri parameter".to_owned(),
        ));
    }
    let mask = params.all("update_mask");
    if let Some(bad) = mask
        .iter()
        .find(|m| !matches!(m.as_str(), "value" | "description"))
    {
        return Err(ApiError::BadRequest(format!(
            "Invalid field in update_mask: `{bad}` (value or description)"
        )));
    }
    let mut tx = state.pool.begin().await?;
    let old = variables::get(&mut tx, &key)
        .await?
        .ok_or_else(|| not_found(&key))?;
    let wants = |field: &str| mask.is_empty() || mask.iter().any(|m| m == field);
    let text = if wants("value") {
        stored_text(&body.value)
    } else {
        old.val
    };
    let description = if wants("description") {
        body.description.unwrap_or_default()
    } else {
        old.description.unwrap_or_default()
    };
    variables::set(&mut tx, &key, &text, Some(&description)).await?;
    caller
        .audit(
            &mut tx,
            "variable_edit",
            None,
            serde_json::json!({"key": key}),
        )
        .await?;
    let row = variables::get(&mut tx, &key)
        .await?
        .ok_or_else(|| not_found(&key))?;
    tx.commit().await?;
    Ok(axum::Json(row.into()))
}

/// Delete a Variable.
#[utoipa::path(delete, path = "/variables/{variable_key}", tag = "Variable",
    params(("variable_key" = String, Path)),
    responses(
        (status = 204),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn delete_variable(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(key): PathOf<String>,
) -> ApiResult<StatusCode> {
    serve_delete_variable(state, caller, key).await
}

/// `delete_variable` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_delete_variable(
    state: ApiState,
    caller: Caller,
    key: String,
) -> ApiResult<StatusCode> {
    caller.require(Action::EditVariables)?;
    let mut tx = state.pool.begin().await?;
    if !variables::delete(&mut tx, &key).await? {
        return Err(not_found(&key));
    }
    caller
        .audit(
            &mut tx,
            "variable_delete",
            None,
            serde_json::json!({"key": key}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
