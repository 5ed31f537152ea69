//! Airflow's REST API (`/api/v2`, Airflow 3.x) for Updraft: an axum router
//! the binary mounts next to the web UI's. Handlers are thin: they extract,
//! check the caller's role, call the same `core::store` and `scheduler`
//! functions the UI calls (the UI and the API never call each other), and
//! map the result to Airflow's JSON shapes. The OpenAPI document is built
//! from the handlers' annotations (utoipa) and served at
//! `/api/v2/openapi.json` and `/openapi.json`.
//!
//! Depends on `core` and `scheduler`; never on `webserver` (nor it on us).

mod auth;
mod backfills;
mod connections;
mod dag_runs;
mod dags;
mod error;
mod extract;
mod hitl;
mod import_errors;
mod logs;
mod monitor;
mod pools;
mod task_instances;
mod tasks;
mod time;
pub mod v1;
mod variables;
mod xcoms;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get};
use sqlx::PgPool;
use updraft_core::config::ApiAuthSettings;
use updraft_core::timetable::ScheduleDefaults;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

pub use auth::TokenKeys;
pub use error::{ApiError, ApiResult};

/// What every API handler shares.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub pool: PgPool,
    /// The `[scheduler]` defaults a manual run's data interval depends on.
    pub schedule: ScheduleDefaults,
    pub tokens: Arc<TokenKeys>,
}

impl ApiState {
    pub fn new(pool: PgPool, schedule: ScheduleDefaults, auth: &ApiAuthSettings) -> Self {
        Self {
            pool,
            schedule,
            tokens: TokenKeys::from_settings(auth),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Airflow API", version = "2",
         description = "Updraft's implementation of Airflow's stable REST API (v2)."),
    modifiers(&BearerAuth),
    security(("HTTPBearer" = [])),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "HTTPBearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The routes and the OpenAPI document they describe.
fn routes() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    let v2 = OpenApiRouter::new()
        .merge(dags::router())
        .merge(dag_runs::router())
        .merge(task_instances::router())
        .merge(logs::router())
        .merge(xcoms::router())
        .merge(variables::router())
        .merge(connections::router())
        .merge(pools::router())
        .merge(import_errors::router())
        .merge(monitor::router())
        .merge(backfills::router())
        .merge(hitl::router())
        .merge(tasks::router());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v2", v2)
        .merge(auth::router())
        .split_for_parts()
}

/// The OpenAPI document (for tests and tools).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// `/api/v2/...`, `/auth/token` and the OpenAPI document.
pub fn router(state: ApiState) -> Router {
    let (routes, doc) = routes();
    let doc = Arc::new(doc);
    let serve_doc = move || {
        let doc = Arc::clone(&doc);
        async move { axum::Json(doc.as_ref().clone()) }
    };
    routes
        .route("/api/v2/openapi.json", get(serve_doc.clone()))
        .route("/openapi.json", get(serve_doc))
        .route("/api/v2/{*rest}", any(not_found))
        .merge(v1::router())
        .with_state(state)
}

/// Unknown API paths: FastAPI's 404 body rather than an empty one.
async fn not_found() -> ApiError {
    ApiError::NotFound("Not Found".to_owned())
}
