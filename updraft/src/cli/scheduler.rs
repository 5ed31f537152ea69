//! `updraft scheduler`: creates DAG runs from schedules, in passes, until
//! SIGTERM or Ctrl-C; `--once` does one pass and exits (for scripts and tests).
//! Today a pass creates runs only; queueing tasks comes with the rest of
//! issue #3.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use updraft_core::config::Settings;
use updraft_core::timetable::ScheduleDefaults;
use updraft_scheduler::runs::{self, RunCreationOptions};

use crate::cli::standalone::shutdown_signal;
use crate::wiring;

#[derive(Debug, clap::Args)]
pub struct SchedulerArgs {
    /// Do one pass of run creation and exit.
    #[arg(long)]
    pub once: bool,
    /// Seconds between passes.
    #[arg(long, default_value_t = 1.0)]
    pub interval: f64,
}

pub async fn run(args: SchedulerArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = wiring::connect(settings).await?;
    let opts = RunCreationOptions::new(ScheduleDefaults::from(&settings.scheduler));
    if args.once {
        let report = runs::create_due_runs(&pool, &opts, Utc::now()).await?;
        println!(
            "Examined {} DAGs, created {} runs, {} DAGs failed.",
            report.dags_examined, report.runs_created, report.dags_failed
        );
        return Ok(if report.dags_failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let pause = Duration::from_secs_f64(args.interval.clamp(0.01, 3600.0));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        match runs::create_due_runs(&pool, &opts, Utc::now()).await {
            Ok(report) if report.runs_created > 0 => {
                tracing::info!(runs = report.runs_created, "created runs");
            }
            Ok(_) => {}
            // The database may be restarting: log, and try again next pass.
            Err(e) => tracing::warn!(error = %e, "run creation pass failed"),
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    pool.close().await;
    Ok(ExitCode::SUCCESS)
}
