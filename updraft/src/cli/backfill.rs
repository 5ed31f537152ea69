//! `updraft backfill create` (Airflow 3's shape): parse the arguments, call
//! `updraft_scheduler::backfill` (dry run or create), print what it planned.
//! The scheduler runs the backfill; this command returns at once.

use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use serde::Serialize;
use updraft_core::config::Settings;
use updraft_core::store::backfills::Reprocess;
use updraft_core::store::dag_runs::python_isoformat;
use updraft_core::timetable::ScheduleDefaults;
use updraft_scheduler::backfill::{self, Action, BackfillRequest, Planned};

use crate::cli::dag_runs::parse_iso;
use crate::output::Format;

#[derive(Debug, clap::Subcommand)]
pub enum BackfillCommand {
    /// Create a backfill of a DAG's runs between two dates (the scheduler runs it).
    Create(CreateArgs),
}

/// `backfill create` arguments.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub dag_id: String,
    /// First logical date (ISO 8601 date or datetime; UTC without an offset).
    #[arg(long)]
    pub from_date: String,
    /// Last logical date, inclusive.
    #[arg(long)]
    pub to_date: String,
    /// The runs' conf, a JSON object.
    #[arg(long)]
    pub dag_run_conf: Option<String>,
    /// Run the latest dates first.
    #[arg(long)]
    pub run_backwards: bool,
    #[arg(long, default_value_t = backfill::DEFAULT_MAX_ACTIVE_RUNS)]
    pub max_active_runs: i32,
    /// What to do with dates that have a run: none, failed or completed.
    #[arg(long, default_value = "none")]
    pub reprocess_behavior: String,
    /// Print the dates it would run, and create nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// One planned date as printed.
#[derive(Debug, Serialize)]
struct PlannedOut {
    logical_date: String,
    /// `create`, `rerun` or `skip`.
    action: &'static str,
    run_id: Option<String>,
    /// `in_flight` or `already_exists` for a skipped date.
    reason: Option<&'static str>,
}

impl From<&Planned> for PlannedOut {
    fn from(p: &Planned) -> Self {
        let (action, run_id, reason) = match &p.action {
            Action::Create => ("create", None, None),
            Action::Rerun { run_id } => ("rerun", Some(run_id.clone()), None),
            Action::Skip { run_id, reason } => {
                ("skip", Some(run_id.clone()), Some(reason.as_str()))
            }
        };
        Self {
            logical_date: python_isoformat(p.logical_date),
            action,
            run_id,
            reason,
        }
    }
}

#[derive(Debug, Serialize)]
struct CreatedOut {
    backfill_id: Option<i64>,
    dag_id: String,
    dry_run: bool,
    runs: usize,
    planned: Vec<PlannedOut>,
}

pub async fn run(cmd: BackfillCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let BackfillCommand::Create(args) = cmd;
    let pool = crate::wiring::connect(settings).await?;
    let conf = match &args.dag_run_conf {
        None => serde_json::Value::Object(Default::default()),
        Some(text) => serde_json::from_str(text)
            .with_context(|| format!("--dag-run-conf is not valid JSON: {text}"))?,
    };
    let Some(reprocess) = Reprocess::parse(&args.reprocess_behavior) else {
        anyhow::bail!(
            "--reprocess-behavior {:?}: use none, failed or completed",
            args.reprocess_behavior
        );
    };
    let req = BackfillRequest {
        dag_id: args.dag_id.clone(),
        from_date: parse_iso(&args.from_date).context("--from-date")?,
        to_date: parse_iso(&args.to_date).context("--to-date")?,
        run_backwards: args.run_backwards,
        dag_run_conf: conf,
        reprocess,
        max_active_runs: args.max_active_runs,
    };
    let defaults = ScheduleDefaults::from(&settings.scheduler);
    let now = Utc::now();
    let (backfill_id, planned) = if args.dry_run {
        (None, backfill::dry_run(&pool, &defaults, &req, now).await?)
    } else {
        let created = backfill::create(&pool, &defaults, &req, "cli", now).await?;
        (Some(created.backfill.id), created.planned)
    };
    let out = CreatedOut {
        backfill_id,
        dag_id: args.dag_id,
        dry_run: args.dry_run,
        runs: planned.iter().filter(|p| p.runs()).count(),
        planned: planned.iter().map(PlannedOut::from).collect(),
    };
    match args.output {
        Format::Json => println!("{}", serde_json::to_string_pretty(&out)?),
        Format::Yaml => print!("{}", serde_yaml::to_string(&out)?),
        Format::Table | Format::Plain => print_text(&out),
    }
    Ok(ExitCode::SUCCESS)
}

/// Airflow's wording: the dry run lists the logical dates to be attempted.
fn print_text(out: &CreatedOut) {
    match out.backfill_id {
        None => println!("Performing dry run of backfill."),
        Some(id) => println!("Created backfill {id} of DAG {}.", out.dag_id),
    }
    println!("{} runs will be created or re-run.", out.runs);
    println!("Logical dates to be attempted:");
    for p in &out.planned {
        match (&p.run_id, p.reason) {
            (Some(run_id), Some(reason)) => {
                println!("    - {} (skipped: {reason}, {run_id})", p.logical_date);
            }
            (Some(run_id), None) => println!("    - {} (re-run {run_id})", p.logical_date),
            _ => println!("    - {}", p.logical_date),
        }
    }
}
