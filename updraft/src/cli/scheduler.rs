//! `updraft scheduler`: in passes, until SIGTERM or Ctrl-C, creates DAG runs
//! from schedules, then starts queued runs, decides and queues task
//! instances, ends finished runs and reaps expired leases
//! (`updraft_scheduler::tasks::pass`); `--once` does one pass and exits (for
//! scripts and tests). Passes are polled every `--interval` seconds.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use updraft_core::config::Settings;
use updraft_core::store::events;
use updraft_core::timetable::ScheduleDefaults;
use updraft_scheduler::runs::{self, PassReport, RunCreationOptions};
use updraft_scheduler::tasks::{self, TaskPassOptions, TaskPassReport};

use crate::cli::standalone::shutdown_signal;
use crate::wiring;

#[derive(Debug, clap::Args)]
pub struct SchedulerArgs {
    /// Do one pass and exit.
    #[arg(long)]
    pub once: bool,
    /// Seconds between passes.
    #[arg(long, default_value_t = 1.0)]
    pub interval: f64,
}

/// Run creation, then the task pass.
async fn one_pass(
    pool: &PgPool,
    creation: &RunCreationOptions,
    task_opts: &TaskPassOptions,
) -> anyhow::Result<(PassReport, TaskPassReport)> {
    let created = runs::create_due_runs(pool, creation, Utc::now()).await?;
    let tasks = tasks::pass(pool, task_opts, Utc::now()).await?;
    Ok((created, tasks))
}

pub async fn run(args: SchedulerArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = wiring::connect(settings).await?;
    let creation = RunCreationOptions::new(ScheduleDefaults::from(&settings.scheduler));
    let task_opts = TaskPassOptions {
        default_max_active_runs: creation.default_max_active_runs,
        ..TaskPassOptions::default()
    };
    if args.once {
        let (created, t) = one_pass(&pool, &creation, &task_opts).await?;
        println!(
            "Examined {} DAGs, created {} runs, {} DAGs failed.",
            created.dags_examined, created.runs_created, created.dags_failed
        );
        println!(
            "Started {} runs, examined {} runs, decided {} task instances, finished {} \
             EmptyOperator tasks, queued {}, reaped {}, finished {} runs, {} runs failed.",
            t.runs_started,
            t.runs_examined,
            t.tis_decided,
            t.tis_finished,
            t.tis_queued,
            t.tis_reaped,
            t.runs_finished,
            t.runs_failed
        );
        pool.close().await;
        return Ok(if created.dags_failed == 0 && t.runs_failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let pause = Duration::from_secs_f64(args.interval.clamp(0.01, 3600.0));
    // A finished try or a new run wakes the scheduler at once; `--interval`
    // is the fallback poll.
    let mut wakeups =
        events::Wakeups::new(pool.clone(), &[events::TI_FINISHED, events::RUN_QUEUED]);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        match one_pass(&pool, &creation, &task_opts).await {
            Ok((created, t)) => {
                if created.runs_created > 0 {
                    tracing::info!(runs = created.runs_created, "created runs");
                }
                if t != TaskPassReport::default() {
                    tracing::debug!(?t, "scheduling pass");
                }
            }
            // The database may be restarting: log, and try again next pass.
            Err(e) => tracing::warn!(error = %e, "scheduler pass failed"),
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = wakeups.wait(pause) => {}
        }
    }
    drop(wakeups); // its listener holds a pooled connection: close() would wait on it
    pool.close().await;
    Ok(ExitCode::SUCCESS)
}
