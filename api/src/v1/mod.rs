//! Airflow 2.x's stable REST API (`/api/v1`) for the clients and scripts
//! written against it (`apache-airflow-client` 2.x). Basic auth
//! ([`auth::BasicCaller`]), Airflow 2's error body ([`error::V1Error`]),
//! and the 2.x shapes; every handler calls the `serve_*` function behind
//! the v2 handler of the same resource and converts its answer, so the
//! rules (roles, audit, store calls) live in one place.

mod auth;
mod dag_runs;
mod dags;
mod error;
mod resources;
mod task_instances;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::error::ApiError;
use error::V1Error;
use resources as res;
use task_instances as tis;

#[derive(OpenApi)]
#[openapi(
    info(title = "Airflow API (Stable)", version = "1.0.0",
         description = "Updraft's implementation of Airflow 2.x's stable REST API (/api/v1)."),
    servers((url = "/api/v1")),
    modifiers(&BasicAuth),
    security(("Basic" = [])),
)]
struct V1Doc;

struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "Basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// The v1 routes and their OpenAPI document (paths relative to `/api/v1`).
fn routes() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(V1Doc::openapi())
        .routes(routes!(dags::get_dags))
        .routes(routes!(dags::get_dag, dags::patch_dag))
        .routes(routes!(dag_runs::get_dag_runs, dag_runs::trigger_dag_run))
        .routes(routes!(dag_runs::get_dag_run))
        .routes(routes!(tis::get_task_instances))
        .routes(routes!(tis::get_task_instance))
        .routes(routes!(tis::get_log))
        .routes(routes!(tis::get_xcom_entries))
        .routes(routes!(tis::get_xcom_entry))
        .routes(routes!(tis::clear_task_instances))
        .routes(routes!(res::get_variables, res::post_variable))
        .routes(routes!(
            res::get_variable,
            res::patch_variable,
            res::delete_variable
        ))
        .routes(routes!(res::get_connections, res::post_connection))
        .routes(routes!(
            res::get_connection,
            res::patch_connection,
            res::delete_connection
        ))
        .routes(routes!(res::get_pools, res::post_pool))
        .routes(routes!(res::get_pool, res::patch_pool, res::delete_pool))
        .routes(routes!(res::get_import_errors))
        .routes(routes!(res::get_health))
        .routes(routes!(res::get_version))
        .split_for_parts()
}

/// The v1 OpenAPI document (for tests and tools).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// `/api/v1/...` and its document at `/api/v1/openapi.json`.
pub fn router() -> Router<ApiState> {
    let (v1, doc) = routes();
    let doc = Arc::new(doc);
    let serve_doc = move || {
        let doc = Arc::clone(&doc);
        async move { axum::Json(doc.as_ref().clone()) }
    };
    let v1 = v1
        .route("/openapi.json", get(serve_doc))
        .route("/{*rest}", any(not_found));
    Router::new().nest("/api/v1", v1)
}

/// Unknown `/api/v1` paths: a 404 in Airflow 2's shape.
async fn not_found() -> V1Error {
    V1Error(ApiError::NotFound("Not Found".to_owned()))
}
