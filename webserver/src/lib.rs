//! The webserver: axum router for the UI (askama templates in `../ui`).
//! Handlers stay thin: they extract, call one `updraft-core` store function
//! (or the auth module), and map the result to a page or a redirect.
//!
//! Built so far: sign-in (sessions, CSRF, throttling), roles and their
//! permissions, the audit log of changes, and the DAG list with its pause
//! toggle. The REST API, `/health` and `/metrics` are not built yet.

pub mod auth;
mod error;
mod pages;

use std::future::Future;

use axum::Router;
use axum::middleware;
use sqlx::PgPool;
use tokio::net::TcpListener;
use updraft_core::timetable::ScheduleDefaults;

pub use auth::password::{hash_password, random_token};
pub use auth::permissions::{Action, Role, allowed};

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// The `[scheduler]` defaults a manual run's data interval depends on.
    pub schedule: ScheduleDefaults,
}

/// The whole site: public pages (`/login`, `/static/*`) and the pages that
/// need a session (everything else: without one, 303 to `/login?next=…`).
pub fn router(state: AppState) -> Router {
    let private = Router::new()
        .merge(pages::home::router())
        .merge(pages::hitl::router())
        .merge(pages::dag::router())
        .merge(pages::login::private_router())
        .merge(pages::actions_router())
        .merge(pages::graph_router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::session::require_session,
        ));
    Router::new()
        .merge(pages::login::router())
        .merge(pages::static_files::router())
        .merge(private)
        .with_state(state)
}

/// Serves on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
