//! Subcommands in Airflow's CLI shape (`updraft dags list`, `updraft db migrate`…).

pub mod backfill;
pub mod connections;
pub mod dag_runs;
pub mod dags;
pub mod dags_test;
pub mod db;
pub mod kafka;
pub mod parse_server;
pub mod pools;
pub mod scheduler;
pub mod standalone;
pub mod task_runner;
pub mod tasks;
pub mod users;
pub mod variables;
pub mod webserver;
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
    /// Process log format, over `[logging] format` (UPDRAFT__LOGGING__FORMAT).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<crate::telemetry::LogFormat>,
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
    DagProcessor(standalone::DagProcessorArgs),
    /// Create DAG runs from schedules (`--once`: one pass, then exit).
    Scheduler(scheduler::SchedulerArgs),
    /// Claim and run queued task instances (`--once`: what is queued now, then exit).
    Worker(worker::WorkerArgs),
    /// Task instances: logs, states, clear, test.
    #[command(subcommand)]
    Tasks(tasks::TasksCommand),
    /// Variables: get, set, delete, list, import, export.
    #[command(subcommand)]
    Variables(variables::VariablesCommand),
    /// Connections: get, add, delete, list, import, export.
    #[command(subcommand)]
    Connections(connections::ConnectionsCommand),
    /// Kafka: topics on the broker of a kafka connection.
    #[command(subcommand)]
    Kafka(kafka::KafkaCommand),
    /// Backfills: create (the scheduler runs them).
    #[command(subcommand)]
    Backfill(backfill::BackfillCommand),
    /// Pools: get, set, delete, list, import, export.
    #[command(subcommand)]
    Pools(pools::PoolsCommand),
    /// Everything in one process, with an embedded database when none is configured.
    Standalone,
    /// Serve the web UI until Ctrl-C.
    Webserver(webserver::WebserverArgs),
    /// Users of the web UI: create, list.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// The parse server child (started by the DAG processor; not for users).
    #[command(name = "__parse-server", hide = true)]
    ParseServer(parse_server::ParseServerArgs),
    /// The Python task runner child (started by the worker; not for users).
    #[command(name = "__task-runner", hide = true)]
    TaskRunner(task_runner::TaskRunnerArgs),
}

/// Runs the command; `settings` as `main` loaded them (an error in them is
/// reported here, once logging is set up).
pub async fn run(
    cli: Cli,
    settings: updraft_core::Result<updraft_core::config::Settings>,
) -> anyhow::Result<ExitCode> {
    let settings = settings?;
    match cli.command {
        Command::Db(cmd) => db::run(cmd, &settings).await,
        Command::Dags(cmd) => dags::run(cmd, &settings).await,
        Command::DagProcessor(args) => standalone::dag_processor(args, &settings).await,
        Command::Scheduler(args) => scheduler::run(args, &settings).await,
        Command::Worker(args) => worker::run(args, &settings).await,
        Command::Tasks(cmd) => tasks::run(cmd, &settings).await,
        Command::Variables(cmd) => {
            variables::run(cmd, &crate::wiring::connect(&settings).await?).await
        }
        Command::Connections(cmd) => {
            connections::run(cmd, &crate::wiring::connect(&settings).await?).await
        }
        Command::Kafka(cmd) => kafka::run(cmd, crate::wiring::connect(&settings)).await,
        Command::Backfill(cmd) => backfill::run(cmd, &settings).await,
        Command::Pools(cmd) => pools::run(cmd, &crate::wiring::connect(&settings).await?).await,
        Command::Standalone => standalone::run(settings).await,
        Command::Webserver(args) => webserver::run(args, &settings).await,
        Command::Users(cmd) => users::run(cmd, &crate::wiring::connect(&settings).await?).await,
        Command::ParseServer(_) | Command::TaskRunner(_) => unreachable_parse_server(),
    }
}

fn unreachable_parse_server() -> anyhow::Result<ExitCode> {
    anyhow::bail!("__parse-server and __task-runner run before the async runtime starts")
}

/// The text of an input file; `-` is stdin.
fn read_input(path: &str) -> anyhow::Result<String> {
    use std::io::Read;
    if path == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(text);
    }
    Ok(std::fs::read_to_string(path)?)
}

/// Writes an export file (with a final newline); `-` is stdout.
fn write_output(path: &str, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    if path == "-" {
        println!("{text}");
        return Ok(());
    }
    std::fs::write(path, format!("{text}\n")).with_context(|| format!("writing {path}"))
}
