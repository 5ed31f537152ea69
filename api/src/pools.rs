//! Pools: list, get, create, update, delete (`core::store::pools`, as the
//! UI and `pools set|delete`), audited; with the slots their task
//! instances hold.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use updraft_core::auth::permissions::Action;
use updraft_core::store::pools::{self, DEFAULT_POOL, PoolRow, SlotUsage};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Body, Page, Params, PathOf};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_pools, post_pool))
        .routes(routes!(get_pool, patch_pool, delete_pool))
}

/// A pool (`PoolResponse`).
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolResponse {
    pub name: String,
    /// -1: unlimited.
    pub slots: i32,
    pub description: Option<String>,
    pub include_deferred: bool,
    pub occupied_slots: i64,
    pub running_slots: i64,
    pub queued_slots: i64,
    pub scheduled_slots: i64,
    pub open_slots: i64,
    pub deferred_slots: i64,
}

fn response(p: PoolRow, u: SlotUsage) -> PoolResponse {
    let occupied = u.running + u.queued + if p.include_deferred { u.deferred } else { 0 };
    let open = if p.slots < 0 {
        -1
    } else {
        i64::from(p.slots) - occupied
    };
    PoolResponse {
        name: p.pool,
        slots: p.slots,
        description: p.description,
        include_deferred: p.include_deferred,
        occupied_slots: occupied,
        running_slots: u.running,
        queued_slots: u.queued,
        scheduled_slots: u.scheduled,
        open_slots: open,
        deferred_slots: u.deferred,
    }
}

/// A page of pools.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolCollectionResponse {
    pub pools: Vec<PoolResponse>,
    pub total_entries: i64,
}

/// A pool to create (`PoolBody`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolBody {
    pub name: String,
    pub slots: i32,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub include_deferred: bool,
}

/// Fields of a pool to change (`PoolPatchBody`); absent ones are kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolPatchBody {
    #[serde(default)]
    pub pool: Option<String>,
    #[serde(default)]
    pub slots: Option<i32>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub include_deferred: Option<bool>,
}

fn check_slots(slots: i32) -> ApiResult<()> {
    if slots < -1 {
        return Err(ApiError::invalid(
            &["body", "slots"],
            "greater_than_equal",
            "Input should be greater than or equal to -1",
        ));
    }
    Ok(())
}

fn not_found(name: &str) -> ApiError {
    ApiError::NotFound(format!("The Pool with name: `{name}` was not found"))
}

/// List pools.
#[utoipa::path(get, path = "/pools", tag = "Pool",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
           ("pool_name_pattern" = Option<String>, Query, description = "a substring of the name")),
    responses(
        (status = 200, body = PoolCollectionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_pools(
    State(state): State<ApiState>,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<PoolCollectionResponse>> {
    serve_get_pools(state, caller, params).await
}

/// `get_pools` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_pools(
    state: ApiState,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<PoolCollectionResponse>> {
    caller.require(Action::ReadDags)?;
    let page = Page::from_params(&params)?;
    let pattern = params.get("pool_name_pattern").map(str::to_lowercase);
    let mut conn = state.pool.acquire().await?;
    let usage = pools::usage(&mut conn).await?;
    let rows: Vec<PoolRow> = pools::list(&mut conn)
        .await?
        .into_iter()
        .filter(|p| {
            pattern
                .as_ref()
                .is_none_or(|s| p.pool.to_lowercase().contains(s))
        })
        .collect();
    let total_entries = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let pools = rows
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(|p| {
            let u = usage.get(&p.pool).copied().unwrap_or_default();
            response(p, u)
        })
        .collect();
    Ok(axum::Json(PoolCollectionResponse {
        pools,
        total_entries,
    }))
}

async fn one(conn: &mut sqlx::PgConnection, name: &str) -> ApiResult<PoolResponse> {
    let row = pools::get(&mut *conn, name)
        .await?
        .ok_or_else(|| not_found(name))?;
    let usage = pools::usage(conn).await?;
    let u = usage.get(name).copied().unwrap_or_default();
    Ok(response(row, u))
}

/// Get a pool.
#[utoipa::path(get, path = "/pools/{pool_name}", tag = "Pool",
    params(("pool_name" = String, Path)),
    responses(
        (status = 200, body = PoolResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn get_pool(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(name): PathOf<String>,
) -> ApiResult<axum::Json<PoolResponse>> {
    serve_get_pool(state, caller, name).await
}

/// `get_pool` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_pool(
    state: ApiState,
    caller: Caller,
    name: String,
) -> ApiResult<axum::Json<PoolResponse>> {
    caller.require(Action::ReadDags)?;
    let mut conn = state.pool.acquire().await?;
    Ok(axum::Json(one(&mut conn, &name).await?))
}

/// Create a pool (409 when the name exists).
#[utoipa::path(post, path = "/pools", tag = "Pool",
    request_body = PoolBody,
    responses(
        (status = 201, body = PoolResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 409, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn post_pool(
    State(state): State<ApiState>,
    caller: Caller,
    Body(body): Body<PoolBody>,
) -> ApiResult<(StatusCode, axum::Json<PoolResponse>)> {
    serve_post_pool(state, caller, body).await
}

/// `post_pool` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_post_pool(
    state: ApiState,
    caller: Caller,
    body: PoolBody,
) -> ApiResult<(StatusCode, axum::Json<PoolResponse>)> {
    caller.require(Action::EditPools)?;
    check_slots(body.slots)?;
    if body.name.trim().is_empty() || body.name.chars().count() > 256 {
        return Err(ApiError::invalid(
            &["body", "name"],
            "string_too_short",
            "name must be 1 to 256 characters",
        ));
    }
    let mut tx = state.pool.begin().await?;
    if pools::get(&mut tx, &body.name).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "The Pool with name: `{}` already exists",
            body.name
        )));
    }
    let row = PoolRow {
        pool: body.name.clone(),
        slots: body.slots,
        description: body.description,
        include_deferred: body.include_deferred,
    };
    pools::set(&mut tx, &row).await?;
    caller
        .audit(
            &mut tx,
            "pool_set",
            None,
            serde_json::json!({"pool": body.name, "slots": body.slots}),
        )
        .await?;
    let out = one(&mut tx, &body.name).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// Change a pool's slots, description or `include_deferred`.
#[utoipa::path(patch, path = "/pools/{pool_name}", tag = "Pool",
    params(("pool_name" = String, Path), ("update_mask" = Option<Vec<String>>, Query)),
    request_body = PoolPatchBody,
    responses(
        (status = 200, body = PoolResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn patch_pool(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(name): PathOf<String>,
    params: Params,
    Body(body): Body<PoolPatchBody>,
) -> ApiResult<axum::Json<PoolResponse>> {
    serve_patch_pool(state, caller, name, params, body).await
}

/// `patch_pool` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_patch_pool(
    state: ApiState,
    caller: Caller,
    name: String,
    params: Params,
    body: PoolPatchBody,
) -> ApiResult<axum::Json<PoolResponse>> {
    caller.require(Action::EditPools)?;
    if body.pool.as_ref().is_some_and(|p| p != &name) {
        return Err(ApiError::BadRequest(
            "Renaming a pool is not supported".to_owned(),
        ));
    }
    let mask = params.all("update_mask");
    let wants = |field: &str| mask.is_empty() || mask.iter().any(|m| m == field);
    let mut tx = state.pool.begin().await?;
    let mut row = pools::get(&mut tx, &name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    if let Some(slots) = body.slots.filter(|_| wants("slots")) {
        check_slots(slots)?;
        row.slots = slots;
    }
    if wants("description") && body.description.is_some() {
        row.description = body.description;
    }
    if let Some(d) = body.include_deferred.filter(|_| wants("include_deferred")) {
        row.include_deferred = d;
    }
    pools::set(&mut tx, &row).await?;
    caller
        .audit(
            &mut tx,
            "pool_set",
            None,
            serde_json::json!({"pool": name, "slots": row.slots}),
        )
        .await?;
    let out = one(&mut tx, &name).await?;
    tx.commit().await?;
    Ok(axum::Json(out))
}

/// Delete a pool (not `default_pool`).
#[utoipa::path(delete, path = "/pools/{pool_name}", tag = "Pool",
    params(("pool_name" = String, Path)),
    responses(
        (status = 204),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn delete_pool(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(name): PathOf<String>,
) -> ApiResult<StatusCode> {
    serve_delete_pool(state, caller, name).await
}

/// `delete_pool` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_delete_pool(
    state: ApiState,
    caller: Caller,
    name: String,
) -> ApiResult<StatusCode> {
    caller.require(Action::EditPools)?;
    if name == DEFAULT_POOL {
        return Err(ApiError::BadRequest(
            "Default Pool can't be deleted".to_owned(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    // As in Airflow, a pool still named by task instances may go: they
    // wait until it exists again (the name is no foreign key, 0003).
    let deleted = pools::delete(&mut tx, &name).await?;
    if deleted.is_none() {
        return Err(not_found(&name));
    }
    caller
        .audit(
            &mut tx,
            "pool_delete",
            None,
            serde_json::json!({"pool": name}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
