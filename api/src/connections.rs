//! Connections: list, get, create, update, delete (`core::store::
//! connections`, as the UI and `connections add|get|delete`), audited. The
//! password is write-only: no answer ever carries it.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use updraft_core::auth::permissions::Action;
use updraft_core::store::connections::{self, ConnectionRow};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Body, Page, Params, PathOf};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_connections, post_connection))
        .routes(routes!(get_connection, patch_connection, delete_connection))
}

/// A Connection (`ConnectionResponse`), without its password.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionResponse {
    pub connection_id: String,
    pub conn_type: String,
    pub description: Option<String>,
    pub host: Option<String>,
    pub login: Option<String>,
    pub schema: Option<String>,
    pub port: Option<i32>,
    pub extra: Option<String>,
    /// Always null: passwords are never returned.
    pub password: Option<String>,
}

impl From<ConnectionRow> for ConnectionResponse {
    fn from(c: ConnectionRow) -> Self {
        Self {
            extra: c.extra_text(),
            connection_id: c.conn_id,
            conn_type: c.conn_type,
            description: c.description,
            host: c.host,
            login: c.login,
            schema: c.schema,
            port: c.port,
            password: None,
        }
    }
}

/// A page of Connections.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionCollectionResponse {
    pub connections: Vec<ConnectionResponse>,
    pub total_entries: i64,
}

/// A Connection to create or replace (`ConnectionBody`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionBody {
    pub connection_id: String,
    pub conn_type: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub port: Option<i32>,
    #[serde(default)]
    pub password: Option<String>,
    /// JSON text.
    #[serde(default)]
    pub extra: Option<String>,
}

/// Airflow's rule for connection ids, which the table's CHECK enforces too.
fn check(body: &ConnectionBody) -> ApiResult<()> {
    let id = &body.connection_id;
    let valid = (1..=250).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        return Err(ApiError::invalid(
            &["body", "connection_id"],
            "string_pattern_mismatch",
            "The connection id must be 1 to 250 of the characters A-Z a-z 0-9 _ . -",
        ));
    }
    if body.conn_type.trim().is_empty() {
        return Err(ApiError::invalid(
            &["body", "conn_type"],
            "string_too_short",
            "conn_type is empty",
        ));
    }
    if let Some(port) = body.port
        && !(0..=65535).contains(&port)
    {
        return Err(ApiError::invalid(
            &["body", "port"],
            "value_error",
            "port must be 0 to 65535",
        ));
    }
    if let Some(extra) = &body.extra
        && !extra.trim().is_empty()
        && serde_json::from_str::<serde_json::Value>(extra).is_err()
    {
        return Err(ApiError::invalid(
            &["body", "extra"],
            "value_error",
            "extra must be JSON text",
        ));
    }
    Ok(())
}

fn row(body: ConnectionBody, keep_password: Option<Vec<u8>>) -> ConnectionRow {
    ConnectionRow {
        conn_id: body.connection_id,
        conn_type: body.conn_type,
        description: body.description,
        host: body.host,
        schema: body.schema,
        login: body.login,
        password: body.password.map(String::into_bytes).or(keep_password),
        port: body.port,
        extra: body.extra.map(String::into_bytes),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "The Connection with connection_id: `{id}` was not found"
    ))
}

/// List Connections.
#[utoipa::path(get, path = "/connections", tag = "Connection",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
           ("connection_id_pattern" = Option<String>, Query, description = "a substring of the id")),
    responses(
        (status = 200, body = ConnectionCollectionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_connections(
    State(state): State<ApiState>,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<ConnectionCollectionResponse>> {
    serve_get_connections(state, caller, params).await
}

/// `get_connections` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_connections(
    state: ApiState,
    caller: Caller,
    params: Params,
) -> ApiResult<axum::Json<ConnectionCollectionResponse>> {
    // Connections may hold secrets in `extra`: only roles that manage them read them.
    caller.require(Action::EditConnections)?;
    let page = Page::from_params(&params)?;
    let pattern = params.get("connection_id_pattern").map(str::to_lowercase);
    let mut conn = state.pool.acquire().await?;
    let rows: Vec<ConnectionRow> = connections::all(&mut conn)
        .await?
        .into_iter()
        .filter(|c| {
            pattern
                .as_ref()
                .is_none_or(|p| c.conn_id.to_lowercase().contains(p))
        })
        .collect();
    let total_entries = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let connections = rows
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(ConnectionResponse::from)
        .collect();
    Ok(axum::Json(ConnectionCollectionResponse {
        connections,
        total_entries,
    }))
}

/// Get a Connection (never its password).
#[utoipa::path(get, path = "/connections/{connection_id}", tag = "Connection",
    params(("connection_id" = String, Path)),
    responses(
        (status = 200, body = ConnectionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn get_connection(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(id): PathOf<String>,
) -> ApiResult<axum::Json<ConnectionResponse>> {
    serve_get_connection(state, caller, id).await
}

/// `get_connection` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_connection(
    state: ApiState,
    caller: Caller,
    id: String,
) -> ApiResult<axum::Json<ConnectionResponse>> {
    caller.require(Action::EditConnections)?;
    let mut conn = state.pool.acquire().await?;
    let row = connections::get(&mut conn, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(axum::Json(row.into()))
}

/// Create a Connection (409 when the id exists).
#[utoipa::path(post, path = "/connections", tag = "Connection",
    request_body = ConnectionBody,
    responses(
        (status = 201, body = ConnectionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 409, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn post_connection(
    State(state): State<ApiState>,
    caller: Caller,
    Body(body): Body<ConnectionBody>,
) -> ApiResult<(StatusCode, axum::Json<ConnectionResponse>)> {
    serve_post_connection(state, caller, body).await
}

/// `post_connection` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_post_connection(
    state: ApiState,
    caller: Caller,
    body: ConnectionBody,
) -> ApiResult<(StatusCode, axum::Json<ConnectionResponse>)> {
    caller.require(Action::EditConnections)?;
    check(&body)?;
    let id = body.connection_id.clone();
    let mut tx = state.pool.begin().await?;
    if !connections::put(&mut tx, &row(body, None), false).await? {
        return Err(ApiError::Conflict(format!(
            "The connection with connection_id: `{id}` already exists"
        )));
    }
    caller
        .audit(
            &mut tx,
            "connection_create",
            None,
            serde_json::json!({"conn_id": id}),
        )
        .await?;
    let stored = connections::get(&mut tx, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(stored.into())))
}

/// Replace a Connection's fields; a body without `password` keeps the
/// stored one.
#[utoipa::path(patch, path = "/connections/{connection_id}", tag = "Connection",
    params(("connection_id" = String, Path)),
    request_body = ConnectionBody,
    responses(
        (status = 200, body = ConnectionResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn patch_connection(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(id): PathOf<String>,
    Body(body): Body<ConnectionBody>,
) -> ApiResult<axum::Json<ConnectionResponse>> {
    serve_patch_connection(state, caller, id, body).await
}

/// `patch_connection` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_patch_connection(
    state: ApiState,
    caller: Caller,
    id: String,
    body: ConnectionBody,
) -> ApiResult<axum::Json<ConnectionResponse>> {
    caller.require(Action::EditConnections)?;
    if body.connection_id != id {
        return Err(ApiError::BadRequest(
            "The connection_id in the body does not match the one in the path".to_owned(),
        ));
    }
    check(&body)?;
    let mut tx = state.pool.begin().await?;
    let old = connections::get(&mut tx, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    connections::put(&mut tx, &row(body, old.password), true).await?;
    caller
        .audit(
            &mut tx,
            "connection_edit",
            None,
            serde_json::json!({"conn_id": id}),
        )
        .await?;
    let stored = connections::get(&mut tx, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    tx.commit().await?;
    Ok(axum::Json(stored.into()))
}

/// Delete a Connection.
#[utoipa::path(delete, path = "/connections/{connection_id}", tag = "Connection",
    params(("connection_id" = String, Path)),
    responses(
        (status = 204),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn delete_connection(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(id): PathOf<String>,
) -> ApiResult<StatusCode> {
    serve_delete_connection(state, caller, id).await
}

/// `delete_connection` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_delete_connection(
    state: ApiState,
    caller: Caller,
    id: String,
) -> ApiResult<StatusCode> {
    caller.require(Action::EditConnections)?;
    let mut tx = state.pool.begin().await?;
    if !connections::delete(&mut tx, &id).await? {
        return Err(not_found(&id));
    }
    caller
        .audit(
            &mut tx,
            "connection_delete",
            None,
            serde_json::json!({"conn_id": id}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
