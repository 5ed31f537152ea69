//! The `updraft` binary: clap subcommands in Airflow's CLI shape, and the
//! wiring between components. No logic of its own lives here.

mod cli;
mod embedded_broker;
mod embedded_db;
mod output;
mod telemetry;
mod wiring;

use std::process::ExitCode;

use clap::Parser;

/// glibc's malloc settings for the long-running services: two arenas and a
/// 1 MiB trim threshold give freed memory back after a large transient
/// (decoding a 10,000-task DAG), where the defaults keep it resident (96 vs
/// 47 MB after the empty_10k bench). glibc reads them only at start-up, so the
/// process execs itself once with them set; a user's own `GLIBC_TUNABLES`
/// is respected.
const MALLOC_TUNABLES: &str = "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=1048576";

fn tune_malloc() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("GLIBC_TUNABLES").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", MALLOC_TUNABLES)
        .exec();
    // Only reached when the exec failed: run as we are.
    eprintln!("note: could not apply malloc settings ({err}); running without them");
}

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let long_running = matches!(
        args.command,
        cli::Command::Standalone
            | cli::Command::Scheduler(_)
            | cli::Command::Worker(_)
            | cli::Command::DagProcessor(_)
    );
    if long_running {
        tune_malloc();
    }
    // The parse server embeds Python and forks: it must stay single-threaded,
    // so it runs before (and instead of) the tokio runtime.
    if let cli::Command::ParseServer(opts) = &args.command {
        return cli::parse_server::run(opts);
    }
    if let cli::Command::TaskRunner(opts) = &args.command {
        return cli::task_runner::run(opts);
    }
    let settings = updraft_core::config::Settings::load();
    let configured = settings
        .as_ref()
        .map(|s| s.telemetry.clone())
        .unwrap_or_default();
    let _telemetry = telemetry::init(&telemetry::TelemetryOptions {
        verbose: args.verbose,
        log_format: args.log_format.unwrap_or(if configured.json_logs {
            telemetry::LogFormat::Json
        } else {
            telemetry::LogFormat::Text
        }),
        otlp_endpoint: configured.otlp_endpoint,
        metrics: long_running || matches!(args.command, cli::Command::Webserver(_)),
    });
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
