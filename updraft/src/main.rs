//! The `updraft` binary: clap subcommands in Airflow's CLI shape, and the
//! wiring between components. No logic of its own lives here.

mod cli;
mod embedded_db;
mod output;
mod telemetry;
mod wiring;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // The parse server embeds Python and forks: it must stay single-threaded,
    // so it runs before (and instead of) the tokio runtime.
    if let cli::Command::ParseServer(opts) = &args.command {
        return cli::parse_server::run(opts);
    }
    if let cli::Command::TaskRunner(opts) = &args.command {
        return cli::task_runner::run(opts);
    }
    telemetry::init(args.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
