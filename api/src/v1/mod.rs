//! Airflow 2.x's stable REST API (`/api/v1`) for the clients and scripts
//! written against it (`apache-airflow-client` 2.x). Basic auth
//! ([`auth::BasicCaller`]), Airflow 2's error body ([`error::V1Error`]),
//! and the 2.x shapes; every handler calls the v2 handler of the same
//! resource and converts its answer, so the rules (roles, audit, store
//! calls) live in one place.

mod auth;
mod dag_runs;
mod dags;
mod error;
mod resources;
mod task_instances;

use axum::Router;
use axum::routing::{any, get, post};

use crate::ApiState;
use crate::error::ApiError;
use error::V1Error;
use resources as res;

/// The routes under `/api/v1`.
pub fn router() -> Router<ApiState> {
    let dag_run = "/dags/{dag_id}/dagRuns/{dag_run_id}";
    let ti = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}";
    let v1 = Router::new()
        .route("/dags", get(dags::get_dags))
        .route("/dags/{dag_id}", get(dags::get_dag).patch(dags::patch_dag))
        .route(
            "/dags/{dag_id}/dagRuns",
            get(dag_runs::get_dag_runs).post(dag_runs::trigger_dag_run),
        )
        .route(dag_run, get(dag_runs::get_dag_run))
        .route(
            &format!("{dag_run}/taskInstances"),
            get(task_instances::get_task_instances),
        )
        .route(ti, get(task_instances::get_task_instance))
        .route(
            &format!("{ti}/logs/{{task_try_number}}"),
            get(task_instances::get_log),
        )
        .route(
            &format!("{ti}/xcomEntries"),
            get(task_instances::get_xcom_entries),
        )
        .route(
            &format!("{ti}/xcomEntries/{{xcom_key}}"),
            get(task_instances::get_xcom_entry),
        )
        .route(
            "/dags/{dag_id}/clearTaskInstances",
            post(task_instances::clear_task_instances),
        )
        .route(
            "/variables",
            get(res::get_variables).post(res::post_variable),
        )
        .route(
            "/variables/{variable_key}",
            get(res::get_variable)
                .patch(res::patch_variable)
                .delete(res::delete_variable),
        )
        .route(
            "/connections",
            get(res::get_connections).post(res::post_connection),
        )
        .route(
            "/connections/{connection_id}",
            get(res::get_connection)
                .patch(res::patch_connection)
                .delete(res::delete_connection),
        )
        .route("/pools", get(res::get_pools).post(res::post_pool))
        .route(
            "/pools/{pool_name}",
            get(res::get_pool)
                .patch(res::patch_pool)
                .delete(res::delete_pool),
        )
        .route("/importErrors", get(res::get_import_errors))
        .route("/health", get(res::get_health))
        .route("/version", get(res::get_version))
        .route("/{*rest}", any(not_found));
    Router::new().nest("/api/v1", v1)
}

/// Unknown `/api/v1` paths: a 404 in Airflow 2's shape.
async fn not_found() -> V1Error {
    V1Error(ApiError::NotFound("Not Found".to_owned()))
}
