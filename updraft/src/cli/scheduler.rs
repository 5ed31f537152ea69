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
use updraft_core::observe::{self, heartbeat::JobHeartbeat};
use updraft_core::store::jobs::JobType;
use updraft_core::store::{events, pools};
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
    /// Serve this process's Prometheus `/metrics` on this port (0: any).
    #[arg(long)]
    pub metrics_port: Option<u16>,
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

/// The scheduler's passes with what they need; `standalone` runs the same loop.
#[derive(Debug, Clone)]
pub struct SchedulerLoop {
    pub pool: PgPool,
    pub creation: RunCreationOptions,
    pub task_opts: TaskPassOptions,
    /// The fallback poll between passes when nothing wakes the loop.
    pub pause: Duration,
}

impl SchedulerLoop {
    pub fn new(pool: PgPool, settings: &Settings, interval_secs: f64) -> Self {
        let creation = RunCreationOptions::new(ScheduleDefaults::from(&settings.scheduler));
        let task_opts = TaskPassOptions {
            default_max_active_runs: creation.default_max_active_runs,
            ..TaskPassOptions::default()
        };
        Self {
            pool,
            creation,
            task_opts,
            pause: Duration::from_secs_f64(interval_secs.clamp(0.01, 3600.0)),
        }
    }

    /// Passes until `shutdown` resolves. A failed pass (the database
    /// restarting, a connection dropped) is logged and the next one tried:
    /// the loop never exits on a database error, and every pass starts from
    /// what the database says, so nothing is lost between passes.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        // A finished try or a new run wakes the scheduler at once; `pause`
        // is the fallback poll.
        let mut wakeups = events::Wakeups::new(
            self.pool.clone(),
            &[events::TI_FINISHED, events::RUN_QUEUED],
        );
        tokio::pin!(shutdown);
        let mut failing = false;
        let mut heartbeat = JobHeartbeat::new(JobType::Scheduler);
        loop {
            // Like Airflow's, the heartbeat and the pool gauges every few
            // seconds, from the loop itself: a stuck loop goes stale.
            if heartbeat.beat(&self.pool).await {
                observe::metrics::scheduler_heartbeat();
                report_pool_slots(&self.pool).await;
            }
            match one_pass(&self.pool, &self.creation, &self.task_opts).await {
                Ok((created, t)) => {
                    if failing {
                        tracing::info!("scheduler passes work again");
                        failing = false;
                    }
                    if created.runs_created > 0 {
                        tracing::info!(runs = created.runs_created, "created runs");
                    }
                    if t != TaskPassReport::default() {
                        tracing::debug!(?t, "scheduling pass");
                    }
                }
                // Logged once per outage, not once per pass.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "scheduler pass failed; retrying every pass");
                }
                Err(e) => tracing::debug!(error = %e, "scheduler pass failed again"),
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = wakeups.wait(self.pause) => {}
            }
        }
        drop(wakeups); // its listener holds a pooled connection: close() would wait on it
        heartbeat.end(&self.pool).await;
    }
}

/// Airflow's `pool.*_slots` and `executor.*_tasks` gauges.
async fn report_pool_slots(pool: &PgPool) {
    let usage = async { pools::slot_usage(&mut *pool.acquire().await?).await }.await;
    match usage {
        Ok((slots, queued, running)) => observe::metrics::pool_slots(&slots, queued, running),
        Err(e) => tracing::debug!(error = %e, "reading pool slots failed"),
    }
}

pub async fn run(args: SchedulerArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = wiring::connect(settings).await?;
    let sched = SchedulerLoop::new(pool.clone(), settings, args.interval);
    if args.once {
        let (created, t) = one_pass(&pool, &sched.creation, &sched.task_opts).await?;
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
    if let Some(port) = args.metrics_port {
        super::webserver::spawn_metrics(settings, port).await?;
    }
    sched.run(shutdown_signal()).await;
    pool.close().await;
    Ok(ExitCode::SUCCESS)
}
