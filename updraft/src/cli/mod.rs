//! Subcommands in Airflow's CLI shape (`updraft dags list`, `updraft db migrate`…).

pub mod dag_runs;
pub mod dags;
pub mod db;
pub mod parse_server;
pub mod scheduler;
pub mod standalone;
pub mod task_runner;
pub mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "updraft",
    version,
    about = "An Airflow-compatible DAG scheduler"
)]
pub struct Cli {
    /// Log what the components do (RUST_LOG overrides).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Database administration.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Inspect and manage DAGs.
    #[command(subcommand)]
    Dags(dags::DagsCommand),
    /// Watch the dags folder and keep serialized DAGs up to date.
    DagProcessor,
    /// Create DAG runs from schedules (`--once`: one pass, then exit).
    Scheduler(scheduler::SchedulerArgs),
    /// Claim and run queued task instances (`--once`: what is queued now, then exit).
    Worker(worker::WorkerArgs),
    /// Task instances: `tasks logs`.
    #[command(subcommand)]
    Tasks(worker::TasksCommand),
    /// Everything in one process, with an embedded database when none is configured.
    Standalone,
    /// The parse server child (started by the DAG processor; not for users).
    #[command(name = "__parse-server", hide = true)]
    ParseServer(parse_server::ParseServerArgs),
    /// The Python task runner child (started by the worker; not for users).
    #[command(name = "__task-runner", hide = true)]
    TaskRunner(task_runner::TaskRunnerArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = updraft_core::config::Settings::load()?;
    match cli.command {
        Command::Db(cmd) => db::run(cmd, &settings).await,
        Command::Dags(cmd) => dags::run(cmd, &settings).await,
        Command::DagProcessor => standalone::dag_processor(&settings).await,
        Command::Scheduler(args) => scheduler::run(args, &settings).await,
        Command::Worker(args) => worker::run(args, &settings).await,
        Command::Tasks(cmd) => worker::tasks(cmd, &settings).await,
        Command::Standalone => standalone::run(settings).await,
        Command::ParseServer(_) | Command::TaskRunner(_) => unreachable_parse_server(),
    }
}

fn unreachable_parse_server() -> anyhow::Result<ExitCode> {
    anyhow::bail!("__parse-server and __task-runner run before the async runtime starts")
}
