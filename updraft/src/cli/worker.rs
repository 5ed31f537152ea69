//! `updraft worker` (claim and run queued task instances) and `updraft tasks
//! logs` (print a try's log, also while it runs). Wiring only.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use updraft_core::config::Settings;
use updraft_core::store::task_instances::{self, TiRef};
use updraft_core::store::task_logs;
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
}

pub async fn run(args: WorkerArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = wiring::connect(settings).await?;
    let opts = WorkerOptions {
        queues: args.queues,
        concurrency: args.concurrency.max(1),
        once: args.once,
        lease: Duration::from_secs_f64(args.lease.clamp(1.0, 86_400.0)),
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

#[derive(Debug, clap::Subcommand)]
pub enum TasksCommand {
    /// Print the log of a task instance's try (the latest unless --try).
    Logs(LogsArgs),
}

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    /// The try to show (default: the latest).
    #[arg(long = "try", alias = "try-number")]
    pub try_number: Option<i32>,
    #[arg(long, default_value_t = -1)]
    pub map_index: i32,
}

pub async fn tasks(cmd: TasksCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let TasksCommand::Logs(args) = cmd;
    let pool = wiring::connect(settings).await?;
    let mut conn = pool.acquire().await.context("connecting to the database")?;
    let at = TiRef {
        dag_id: &args.dag_id,
        run_id: &args.run_id,
        task_id: &args.task_id,
        map_index: args.map_index,
    };
    let Some((ti_id, latest)) = task_instances::locate(&mut conn, &at).await? else {
        eprintln!(
            "error: no task instance {} of run {} of DAG {} (map index {})",
            args.task_id, args.run_id, args.dag_id, args.map_index
        );
        return Ok(ExitCode::from(1));
    };
    let try_number = args.try_number.unwrap_or(latest);
    if try_number < 1 {
        eprintln!("error: task instance {} has not run yet", args.task_id);
        return Ok(ExitCode::from(1));
    }
    let text = task_logs::read(&mut conn, ti_id, try_number).await?;
    println!(
        "*** Log of {}/{}/{} try {try_number} (from the task_log table)",
        args.dag_id, args.run_id, args.task_id
    );
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
