//! The webserver: axum router for the UI (askama templates in `../ui`).
//! Handlers stay thin: they extract, call one `updraft-core` store function
//! (or the auth module), and map the result to a page or a redirect.
//!
//! Sign-in (sessions, CSRF, throttling), the pages (`pages/`), and the
//! public `/health` and `/metrics`. The REST API is the `api` crate, which
//! the binary mounts beside this router (neither knows the other).

pub mod auth;
mod error;
mod pages;

use axum::Router;
use axum::middleware;
use sqlx::PgPool;
use tokio::net::TcpListener;
use updraft_core::timetable::ScheduleDefaults;

pub use auth::password::{hash_password, random_token};
pub use auth::permissions::{Action, Role, allowed};
pub use pages::health::install_prometheus;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// The `[scheduler]` defaults a manual run's data interval depends on.
    pub schedule: ScheduleDefaults,
    /// Cookies carry `Secure` (`[webserver] cookie_secure`).
    pub cookie_secure: bool,
    /// Failed sign-ins per client address (in memory).
    pub sign_in_ips: std::sync::Arc<auth::ip_throttle::IpThrottle>,
}

impl AppState {
    /// With cookies not `Secure` and the default sign-in throttle.
    pub fn new(pool: PgPool, schedule: ScheduleDefaults) -> Self {
        Self {
            pool,
            schedule,
            cookie_secure: false,
            sign_in_ips: std::sync::Arc::default(),
        }
    }
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
        .merge(pages::health::router())
        .merge(private)
        .with_state(state)
}

/// Serves only `/metrics` on `listener` (a scheduler or worker process's
/// `--metrics-port`) until the process ends.
pub async fn serve_metrics(listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, pages::health::metrics_router::<()>()).await
}
