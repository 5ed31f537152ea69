//! `updraft worker`: claim and run queued task instances. Wiring only.

use std::process::ExitCode;
use std::time::Duration;

use updraft_core::config::Settings;
use updraft_worker::native::hitl_notify::NotifySettings;
use updraft_worker::run::{self, WorkerOptions};

use crate::cli::standalone::shutdown_signal;
use crate::wiring;

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Task instances run at once.
    #[arg(short, long, default_value_t = 16)]
    pub concurrency: usize,
    /// Comma-separated queues to take task instances from.
    #[arg(short, long, default_value = "default", value_delimiter = ',')]
    pub queues: Vec<String>,
    /// Claim what is queued now, run it to completion, and exit.
    #[arg(long)]
    pub once: bool,
    /// Seconds a claimed task instance stays this worker's without a heartbeat.
    #[arg(long, default_value_t = 30.0)]
    pub lease: f64,
    /// Serve this process's Prometheus `/metrics` on this port (0: any).
    #[arg(long)]
    pub metrics_port: Option<u16>,
}

pub async fn run(args: WorkerArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = wiring::connect(settings).await?;
    if let Some(port) = args.metrics_port {
        super::webserver::spawn_metrics(settings, port).await?;
    }
    let opts = WorkerOptions {
        queues: args.queues,
        concurrency: args.concurrency.max(1),
        once: args.once,
        lease: Duration::from_secs_f64(args.lease.clamp(1.0, 86_400.0)),
        hitl: NotifySettings::from_settings(settings),
        ..WorkerOptions::default()
    };
    let report = run::run(pool.clone(), opts, shutdown_signal()).await?;
    if args.once {
        println!(
            "Worker {} ran {} task instances.",
            report.worker_id, report.tries_run
        );
    }
    pool.close().await;
    Ok(ExitCode::SUCCESS)
}
