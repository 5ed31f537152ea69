//! Variables, Connections and Pools (CRUD), import errors, `/health` and
//! `/version` in Airflow 2's shapes, answered by the functions behind the
//! v2 handlers. Airflow 2 answers a create with 200 (v2: 201).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use updraft_core::store::health::{self, Health, Thresholds};
use utoipa::ToSchema;

use super::auth::BasicCaller;
use super::error::{Json, PathOf, Query, V1Result};
use crate::ApiState;
use crate::connections::{self, ConnectionBody, ConnectionResponse};
use crate::import_errors::{self, ImportErrorResponse};
use crate::pools::{self, PoolBody, PoolPatchBody, PoolResponse};
use crate::variables::{self, VariableBody, VariableResponse};

/// `Variable` (and `VariableCollectionItem`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Variable {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
}

impl From<VariableResponse> for Variable {
    fn from(v: VariableResponse) -> Self {
        Self {
            key: v.key,
            value: v.value,
            description: v.description,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariableCollection {
    pub variables: Vec<Variable>,
    pub total_entries: i64,
}

#[utoipa::path(get, path = "/variables", tag = "Variable",
    responses(
        (status = 200, body = VariableCollection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_variables(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    Query(params): Query,
) -> V1Result<axum::Json<VariableCollection>> {
    let page = variables::serve_get_variables(state, caller, params)
        .await?
        .0;
    Ok(axum::Json(VariableCollection {
        variables: page.variables.into_iter().map(Variable::from).collect(),
        total_entries: page.total_entries,
    }))
}

#[utoipa::path(get, path = "/variables/{variable_key}", tag = "Variable",
    params(("variable_key" = String, Path)),
    responses(
        (status = 200, body = Variable),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_variable(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(key): PathOf<String>,
) -> V1Result<axum::Json<Variable>> {
    let v = variables::serve_get_variable(state, caller, key).await?.0;
    Ok(axum::Json(v.into()))
}

#[utoipa::path(post, path = "/variables", tag = "Variable",
    responses(
        (status = 200, body = Variable),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn post_variable(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    Json(body): Json<VariableBody>,
) -> V1Result<axum::Json<Variable>> {
    let (_, v) = variables::serve_post_variable(state, caller, body).await?;
    Ok(axum::Json(v.0.into()))
}

#[utoipa::path(patch, path = "/variables/{variable_key}", tag = "Variable",
    params(("variable_key" = String, Path)),
    responses(
        (status = 200, body = Variable),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn patch_variable(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(key): PathOf<String>,
    Query(params): Query,
    Json(body): Json<VariableBody>,
) -> V1Result<axum::Json<Variable>> {
    let v = variables::serve_patch_variable(state, caller, key, params, body)
        .await?
        .0;
    Ok(axum::Json(v.into()))
}

#[utoipa::path(delete, path = "/variables/{variable_key}", tag = "Variable",
    params(("variable_key" = String, Path)),
    responses(
        (status = 204),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn delete_variable(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(key): PathOf<String>,
) -> V1Result<StatusCode> {
    Ok(variables::serve_delete_variable(state, caller, key).await?)
}

/// `Connection` without its password (never returned).
#[derive(Debug, Serialize, ToSchema)]
pub struct Connection {
    pub connection_id: String,
    pub conn_type: String,
    pub description: Option<String>,
    pub host: Option<String>,
    pub login: Option<String>,
    pub schema: Option<String>,
    pub port: Option<i32>,
    pub extra: Option<String>,
}

impl From<ConnectionResponse> for Connection {
    fn from(c: ConnectionResponse) -> Self {
        Self {
            connection_id: c.connection_id,
            conn_type: c.conn_type,
            description: c.description,
            host: c.host,
            login: c.login,
            schema: c.schema,
            port: c.port,
            extra: c.extra,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionCollection {
    pub connections: Vec<Connection>,
    pub total_entries: i64,
}

#[utoipa::path(get, path = "/connections", tag = "Connection",
    responses(
        (status = 200, body = ConnectionCollection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_connections(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    Query(params): Query,
) -> V1Result<axum::Json<ConnectionCollection>> {
    let page = connections::serve_get_connections(state, caller, params)
        .await?
        .0;
    Ok(axum::Json(ConnectionCollection {
        connections: page.connections.into_iter().map(Connection::from).collect(),
        total_entries: page.total_entries,
    }))
}

#[utoipa::path(get, path = "/connections/{connection_id}", tag = "Connection",
    params(("connection_id" = String, Path)),
    responses(
        (status = 200, body = Connection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_connection(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(id): PathOf<String>,
) -> V1Result<axum::Json<Connection>> {
    let c = connections::serve_get_connection(state, caller, id)
        .await?
        .0;
    Ok(axum::Json(c.into()))
}

#[utoipa::path(post, path = "/connections", tag = "Connection",
    responses(
        (status = 200, body = Connection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn post_connection(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    Json(body): Json<ConnectionBody>,
) -> V1Result<axum::Json<Connection>> {
    let (_, c) = connections::serve_post_connection(state, caller, body).await?;
    Ok(axum::Json(c.0.into()))
}

#[utoipa::path(patch, path = "/connections/{connection_id}", tag = "Connection",
    params(("connection_id" = String, Path)),
    responses(
        (status = 200, body = Connection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn patch_connection(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(id): PathOf<String>,
    Json(body): Json<ConnectionBody>,
) -> V1Result<axum::Json<Connection>> {
    let c = connections::serve_patch_connection(state, caller, id, body)
        .await?
        .0;
    Ok(axum::Json(c.into()))
}

#[utoipa::path(delete, path = "/connections/{connection_id}", tag = "Connection",
    params(("connection_id" = String, Path)),
    responses(
        (status = 204),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn delete_connection(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(id): PathOf<String>,
) -> V1Result<StatusCode> {
    Ok(connections::serve_delete_connection(state, caller, id).await?)
}

/// `Pool`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pool {
    pub name: String,
    pub slots: i32,
    pub occupied_slots: i64,
    pub used_slots: i64,
    pub running_slots: i64,
    pub queued_slots: i64,
    pub scheduled_slots: i64,
    pub open_slots: i64,
    pub deferred_slots: i64,
    pub description: Option<String>,
    pub include_deferred: bool,
}

impl From<PoolResponse> for Pool {
    fn from(p: PoolResponse) -> Self {
        Self {
            name: p.name,
            slots: p.slots,
            occupied_slots: p.occupied_slots,
            // Airflow 2's `used_slots` is the same count as `occupied_slots`.
            used_slots: p.occupied_slots,
            running_slots: p.running_slots,
            queued_slots: p.queued_slots,
            scheduled_slots: p.scheduled_slots,
            open_slots: p.open_slots,
            deferred_slots: p.deferred_slots,
            description: p.description,
            include_deferred: p.include_deferred,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PoolCollection {
    pub pools: Vec<Pool>,
    pub total_entries: i64,
}

/// The writable fields of `Pool`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PoolWrite {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub slots: Option<i32>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub include_deferred: Option<bool>,
}

#[utoipa::path(get, path = "/pools", tag = "Pool",
    responses(
        (status = 200, body = PoolCollection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_pools(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    Query(params): Query,
) -> V1Result<axum::Json<PoolCollection>> {
    let page = pools::serve_get_pools(state, caller, params).await?.0;
    Ok(axum::Json(PoolCollection {
        pools: page.pools.into_iter().map(Pool::from).collect(),
        total_entries: page.total_entries,
    }))
}

#[utoipa::path(get, path = "/pools/{pool_name}", tag = "Pool",
    params(("pool_name" = String, Path)),
    responses(
        (status = 200, body = Pool),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_pool(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(name): PathOf<String>,
) -> V1Result<axum::Json<Pool>> {
    let p = pools::serve_get_pool(state, caller, name).await?.0;
    Ok(axum::Json(p.into()))
}

#[utoipa::path(post, path = "/pools", tag = "Pool",
    responses(
        (status = 200, body = Pool),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn post_pool(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    Json(body): Json<PoolWrite>,
) -> V1Result<axum::Json<Pool>> {
    let (Some(name), Some(slots)) = (body.name, body.slots) else {
        return Err(super::error::V1Error::bad_request(
            "`name` and `slots` are required",
        ));
    };
    let v2_body = PoolBody {
        name,
        slots,
        description: body.description,
        include_deferred: body.include_deferred.unwrap_or(false),
    };
    let (_, p) = pools::serve_post_pool(state, caller, v2_body).await?;
    Ok(axum::Json(p.0.into()))
}

#[utoipa::path(patch, path = "/pools/{pool_name}", tag = "Pool",
    params(("pool_name" = String, Path)),
    responses(
        (status = 200, body = Pool),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn patch_pool(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(name): PathOf<String>,
    Query(params): Query,
    Json(body): Json<PoolWrite>,
) -> V1Result<axum::Json<Pool>> {
    let v2_body = PoolPatchBody {
        pool: body.name,
        slots: body.slots,
        description: body.description,
        include_deferred: body.include_deferred,
    };
    let p = pools::serve_patch_pool(state, caller, name, params, v2_body)
        .await?
        .0;
    Ok(axum::Json(p.into()))
}

#[utoipa::path(delete, path = "/pools/{pool_name}", tag = "Pool",
    params(("pool_name" = String, Path)),
    responses(
        (status = 204),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn delete_pool(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(name): PathOf<String>,
) -> V1Result<StatusCode> {
    Ok(pools::serve_delete_pool(state, caller, name).await?)
}

/// `ImportError`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportError {
    pub import_error_id: i64,
    pub timestamp: DateTime<Utc>,
    pub filename: String,
    pub stack_trace: String,
}

impl From<ImportErrorResponse> for ImportError {
    fn from(e: ImportErrorResponse) -> Self {
        Self {
            import_error_id: e.import_error_id,
            timestamp: e.timestamp,
            filename: e.filename,
            stack_trace: e.stack_trace,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportErrorCollection {
    pub import_errors: Vec<ImportError>,
    pub total_entries: i64,
}

#[utoipa::path(get, path = "/importErrors", tag = "ImportError",
    responses(
        (status = 200, body = ImportErrorCollection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_import_errors(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    Query(params): Query,
) -> V1Result<axum::Json<ImportErrorCollection>> {
    let page = import_errors::serve_get_import_errors(state, caller, params)
        .await?
        .0;
    Ok(axum::Json(ImportErrorCollection {
        import_errors: page
            .import_errors
            .into_iter()
            .map(ImportError::from)
            .collect(),
        total_entries: page.total_entries,
    }))
}

/// `GET /health` (public): Airflow 2's shape, from the shared check.
#[utoipa::path(get, path = "/health", tag = "Monitoring", security(()),
    responses(
        (status = 200, description = "Airflow 2's `HealthInfo` (and Updraft's `workers`)"),
    ))]
pub(super) async fn get_health(State(state): State<ApiState>) -> axum::Json<Health> {
    axum::Json(health::check(&state.pool, &Thresholds::default(), Utc::now()).await)
}

/// `GET /version`.
#[utoipa::path(get, path = "/version", tag = "Monitoring", security(()),
    responses(
        (status = 200, body = VersionInfo),
    ))]
pub(super) async fn get_version() -> axum::Json<VersionInfo> {
    axum::Json(VersionInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        git_version: None,
    })
}

/// `VersionInfo`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionInfo {
    pub version: String,
    pub git_version: Option<String>,
}
