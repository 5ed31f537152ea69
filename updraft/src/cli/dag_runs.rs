//! `updraft dags trigger | list-runs | pause | unpause`: DAG runs by hand and
//! the pause switch. Wiring only: parsing arguments, one call into
//! `updraft-scheduler` or `core::store`, printing.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgPool;
use updraft_core::config::Settings;
use updraft_core::store::dag_runs::{self, DagRunRow, python_isoformat};
use updraft_core::timetable::ScheduleDefaults;
use updraft_scheduler::runs::{self, ManualTrigger};

use crate::output::{Format, print_rows};

/// `dags trigger` arguments.
#[derive(Debug, clap::Args)]
pub struct TriggerArgs {
    pub dag_id: String,
    /// The run's conf, a JSON object.
    #[arg(short, long)]
    pub conf: Option<String>,
    /// The run's logical date (ISO 8601; without an offset it is UTC). Default: now.
    #[arg(short, long, alias = "exec-date")]
    pub logical_date: Option<String>,
    /// The run id. Default: `manual__<logical date>`.
    #[arg(short, long)]
    pub run_id: Option<String>,
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// `dags list-runs` arguments: the DAG positionally (Airflow 3) or with
/// `-d` (Airflow 2).
#[derive(Debug, clap::Args)]
pub struct ListRunsArgs {
    #[arg(required_unless_present = "dag_id_flag")]
    pub dag_id: Option<String>,
    #[arg(short = 'd', long = "dag-id", conflicts_with = "dag_id")]
    pub dag_id_flag: Option<String>,
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// A run as printed: the row plus the names Airflow's CLI uses for the same
/// fields (`dag_run_id` in `dags trigger`, 2.x's `execution_date`).
#[derive(Debug, Serialize)]
struct RunOut<'a> {
    #[serde(flatten)]
    row: &'a DagRunRow,
    dag_run_id: &'a str,
    execution_date: Option<String>,
    external_trigger: bool,
}

impl<'a> From<&'a DagRunRow> for RunOut<'a> {
    fn from(row: &'a DagRunRow) -> Self {
        Self {
            row,
            dag_run_id: &row.run_id,
            execution_date: row.logical_date.map(python_isoformat),
            external_trigger: row.run_type == "manual",
        }
    }
}

const RUN_COLUMNS: &[&str] = &[
    "dag_id",
    "run_id",
    "state",
    "logical_date",
    "start_date",
    "end_date",
];

pub async fn trigger(
    args: TriggerArgs,
    pool: &PgPool,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    let conf = match &args.conf {
        None => serde_json::Value::Object(Default::default()),
        Some(text) => serde_json::from_str(text)
            .with_context(|| format!("--conf is not valid JSON: {text}"))?,
    };
    let logical_date = args.logical_date.as_deref().map(parse_iso).transpose()?;
    let req = ManualTrigger {
        dag_id: args.dag_id,
        conf,
        logical_date,
        run_id: args.run_id,
        triggered_by: "cli",
        audit_owner: None,
    };
    let defaults = ScheduleDefaults::from(&settings.scheduler);
    let row = runs::trigger(pool, &defaults, &req, Utc::now()).await?;
    print_rows(
        &[RunOut::from(&row)],
        &["dag_id", "run_id", "state", "logical_date", "conf"],
        args.output,
    )?;
    Ok(ExitCode::SUCCESS)
}

pub async fn list_runs(args: ListRunsArgs, pool: &PgPool) -> anyhow::Result<ExitCode> {
    let Some(dag_id) = args.dag_id.or(args.dag_id_flag) else {
        anyhow::bail!("give a DAG id");
    };
    if !dag_exists(pool, &dag_id).await? {
        anyhow::bail!("DAG {dag_id:?} not found");
    }
    let rows = dag_runs::list(pool, &dag_id).await?;
    let rows: Vec<RunOut> = rows.iter().map(RunOut::from).collect();
    print_rows(&rows, RUN_COLUMNS, args.output)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn set_paused(pool: &PgPool, dag_id: &str, paused: bool) -> anyhow::Result<ExitCode> {
    let mut conn = pool.acquire().await?;
    if !dag_runs::set_paused(&mut conn, dag_id, paused).await? {
        anyhow::bail!("DAG {dag_id:?} not found");
    }
    println!(
        "Dag: {dag_id}, paused: {}",
        if paused { "True" } else { "False" }
    );
    Ok(ExitCode::SUCCESS)
}

async fn dag_exists(pool: &PgPool, dag_id: &str) -> anyhow::Result<bool> {
    Ok(updraft_core::store::dags::serialized(pool, dag_id)
        .await?
        .is_some())
}

/// An ISO 8601 date or datetime; without an offset it is UTC.
pub(crate) fn parse_iso(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(Some(dt)) = updraft_core::timetable::parse_date("logical_date", Some(text)) {
        return Ok(dt);
    }
    if let Some(midnight) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        return Ok(midnight.and_utc());
    }
    anyhow::bail!("--logical-date {text:?} is not an ISO 8601 date or datetime")
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_iso_dates() {
        let want = "2024-01-02T03:04:05+00:00";
        for text in [
            "2024-01-02T03:04:05+00:00",
            "2024-01-02T05:04:05+02:00",
            "2024-01-02T03:04:05",
        ] {
            let got = super::parse_iso(text).map(|d| d.to_rfc3339());
            assert_eq!(got.ok().as_deref(), Some(want), "{text}");
        }
        assert!(super::parse_iso("2024-01-02").is_ok());
        assert!(super::parse_iso("yesterday").is_err());
    }
}
