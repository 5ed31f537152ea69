//! `updraft webserver [--host H] [--port P]`: serves the web UI and the
//! REST API (`/api/v2`, `/auth/token`) on one port until SIGINT/SIGTERM.
//! Also used by `standalone` ([`bind`] + [`serve`]).

use std::process::ExitCode;

use anyhow::Context;
use sqlx::PgPool;
use tokio::net::TcpListener;
use updraft_api::ApiState;
use updraft_core::config::{ApiAuthSettings, Settings};
use updraft_core::timetable::ScheduleDefaults;
use updraft_webserver::AppState;

use crate::wiring;

#[derive(Debug, clap::Args)]
pub struct WebserverArgs {
    /// The address to listen on ([webserver] host; default 127.0.0.1).
    #[arg(short = 'H', long)]
    pub host: Option<String>,
    /// The port ([webserver] port; default 8080; 0: any free port).
    #[arg(short, long)]
    pub port: Option<u16>,
}

pub async fn run(args: WebserverArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let shutdown = super::standalone::shutdown_signal();
    let pool = wiring::connect(settings).await?;
    let host = args.host.unwrap_or_else(|| settings.webserver.host.clone());
    let port = args.port.unwrap_or(settings.webserver.port);
    let listener = bind(&host, port).await?;
    serve(
        listener,
        pool,
        ScheduleDefaults::from(&settings.scheduler),
        settings.webserver.cookie_secure,
        settings.api_auth.clone(),
        shutdown,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Listens on `host:port` and says so (`Webserver listening on http://…`,
/// with the port actually bound).
pub async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind((host, port))
        .await
        .with_context(|| format!("listening on {host}:{port}"))?;
    let bound = listener.local_addr()?.port();
    println!("Webserver listening on http://{host}:{bound}");
    Ok(listener)
}

/// Serves the UI and the REST API (two routers, neither knowing the
/// other) until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    pool: PgPool,
    schedule: ScheduleDefaults,
    cookie_secure: bool,
    api_auth: ApiAuthSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let api = updraft_api::router(ApiState::new(pool.clone(), schedule, &api_auth));
    let state = AppState {
        cookie_secure,
        ..AppState::new(pool, schedule)
    };
    let app = updraft_webserver::router(state).merge(api);
    // The peer address feeds the UI's per-address sign-in throttle.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving the web UI and the REST API")
}

/// `--metrics-port` of the scheduler and the worker: `/metrics` of this
/// process on `[webserver] host`, served in the background.
pub async fn spawn_metrics(settings: &Settings, port: u16) -> anyhow::Result<()> {
    let host = &settings.webserver.host;
    let listener = TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| format!("listening on {host}:{port} for metrics"))?;
    let bound = listener.local_addr()?.port();
    println!("Metrics on http://{host}:{bound}/metrics");
    tokio::spawn(async move {
        if let Err(e) = updraft_webserver::serve_metrics(listener).await {
            tracing::warn!(error = %e, "the metrics endpoint stopped");
        }
    });
    Ok(())
}
