//! `updraft tasks …`: logs, states-for-dag-run, state, list, clear and test,
//! in Airflow's CLI shape. Wiring only: arguments, calls into `core::store`
//! (and `dags_test` for `tasks test`), printing.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use updraft_core::config::Settings;
use updraft_core::model::serialized::SerializedTasks;
use updraft_core::store::dag_runs::{self, DagRunRow, python_isoformat};
use updraft_core::store::task_instances::{self, TiRef, TiView};
use updraft_core::store::{dags, task_logs};
use updraft_core::timetable::ScheduleDefaults;
use updraft_scheduler::manual;

use super::dag_runs::parse_iso;
use super::dags_test::{self, TaskTestArgs};
use crate::output::{Format, print_rows};
use crate::wiring;

#[derive(Debug, clap::Subcommand)]
pub enum TasksCommand {
    /// Print the log of a task instance's try (the latest unless --try).
    Logs(LogsArgs),
    /// The task instances of one DAG run with their states.
    StatesForDagRun {
        dag_id: String,
        /// The run id, or the run's logical date.
        #[arg(value_name = "LOGICAL_DATE_OR_RUN_ID")]
        run: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
    /// The state of one task instance.
    State {
        dag_id: String,
        task_id: String,
        #[arg(value_name = "LOGICAL_DATE_OR_RUN_ID")]
        run: String,
        #[arg(short, long, default_value_t = -1)]
        map_index: i32,
    },
    /// The task ids of a DAG.
    List { dag_id: String },
    /// Clear task instances so they run again.
    Clear(ClearArgs),
    /// Run one task now, ignoring its dependencies, leaving no state behind.
    Test(TaskTestArgs),
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

/// `tasks clear` arguments (Airflow's flags).
#[derive(Debug, clap::Args)]
pub struct ClearArgs {
    pub dag_id: String,
    /// Clear only the tasks whose id matches this regular expression.
    #[arg(short = 't', long)]
    pub task_regex: Option<String>,
    /// Only runs with a logical date on or after this one.
    #[arg(short = 's', long)]
    pub start_date: Option<String>,
    /// Only runs with a logical date on or before this one.
    #[arg(short = 'e', long)]
    pub end_date: Option<String>,
    /// Also the upstream tasks of the selected ones (recursively).
    #[arg(short = 'u', long)]
    pub upstream: bool,
    /// Also the downstream tasks of the selected ones (recursively).
    #[arg(short = 'd', long)]
    pub downstream: bool,
    /// Only failed (and upstream_failed) task instances.
    #[arg(short = 'f', long)]
    pub only_failed: bool,
    /// Only running task instances.
    #[arg(short = 'r', long)]
    pub only_running: bool,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub async fn run(cmd: TasksCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = wiring::connect(settings).await?;
    match cmd {
        TasksCommand::Logs(args) => logs(args, &pool).await,
        TasksCommand::StatesForDagRun {
            dag_id,
            run,
            output,
        } => states_for_dag_run(&pool, &dag_id, &run, output).await,
        TasksCommand::State {
            dag_id,
            task_id,
            run,
            map_index,
        } => state(&pool, &dag_id, &task_id, &run, map_index).await,
        TasksCommand::List { dag_id } => {
            let tasks = dag_tasks(&pool, &dag_id).await?;
            let ids: BTreeSet<&str> = tasks.tasks.iter().map(|t| t.task_id.as_str()).collect();
            for id in ids {
                println!("{id}");
            }
            Ok(ExitCode::SUCCESS)
        }
        TasksCommand::Clear(args) => clear(&pool, args).await,
        TasksCommand::Test(args) => {
            let defaults = ScheduleDefaults::from(&settings.scheduler);
            dags_test::task_test(args, &pool, &defaults).await
        }
    }
}

async fn logs(args: LogsArgs, pool: &PgPool) -> anyhow::Result<ExitCode> {
    let mut conn = pool.acquire().await.context("connecting to the database")?;
    let at = TiRef {
        dag_id: &args.dag_id,
        run_id: &args.run_id,
        task_id: &args.task_id,
        map_index: args.map_index,
    };
    let Some((ti_id, latest)) = task_instances::locate(&mut conn, &at).await? else {
        anyhow::bail!(
            "no task instance {} of run {} of DAG {} (map index {})",
            args.task_id,
            args.run_id,
            args.dag_id,
            args.map_index
        );
    };
    let try_number = args.try_number.unwrap_or(latest);
    if try_number < 1 {
        anyhow::bail!("task instance {} has not run yet", args.task_id);
    }
    let text = task_logs::read(&mut conn, ti_id, try_number).await?;
    println!(
        "*** Log of {}/{}/{} try {try_number} (from the task_log table)",
        args.dag_id, args.run_id, args.task_id
    );
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// The serialized tasks of a DAG; an error naming the DAG when it is unknown.
async fn dag_tasks(pool: &PgPool, dag_id: &str) -> anyhow::Result<SerializedTasks> {
    let Some(data) = dags::serialized(pool, dag_id).await? else {
        anyhow::bail!("Dag {dag_id:?} could not be found");
    };
    serde::Deserialize::deserialize(&data).context("reading the serialized DAG")
}

/// The run named by a run id or a logical date, or Airflow's error.
async fn find_run(pool: &PgPool, dag_id: &str, run: &str) -> anyhow::Result<DagRunRow> {
    if dags::serialized(pool, dag_id).await?.is_none() {
        anyhow::bail!("Dag {dag_id:?} could not be found");
    }
    let mut conn = pool.acquire().await?;
    let at = parse_iso(run).ok();
    dag_runs::find_by_id_or_date(&mut conn, dag_id, run, at)
        .await?
        .with_context(|| {
            format!("DagRun for {dag_id} with run_id or logical_date of {run:?} not found")
        })
}

/// A task instance as printed: dates in ISO 8601 with `+00:00`.
#[derive(Debug, Serialize)]
struct TiOut {
    dag_id: String,
    run_id: String,
    logical_date: Option<String>,
    /// Airflow 2's name for `logical_date`.
    execution_date: Option<String>,
    task_id: String,
    map_index: i32,
    state: Option<String>,
    try_number: i32,
    max_tries: i32,
    start_date: Option<String>,
    end_date: Option<String>,
}

fn iso(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(python_isoformat)
}

impl From<&TiView> for TiOut {
    fn from(v: &TiView) -> Self {
        Self {
            dag_id: v.dag_id.clone(),
            run_id: v.run_id.clone(),
            logical_date: iso(v.logical_date),
            execution_date: iso(v.logical_date),
            task_id: v.task_id.clone(),
            map_index: v.map_index,
            state: v.state.clone(),
            try_number: v.try_number,
            max_tries: v.max_tries,
            start_date: iso(v.start_date),
            end_date: iso(v.end_date),
        }
    }
}

async fn states_for_dag_run(
    pool: &PgPool,
    dag_id: &str,
    run: &str,
    output: Format,
) -> anyhow::Result<ExitCode> {
    let found = find_run(pool, dag_id, run).await?;
    let mut conn = pool.acquire().await?;
    let views = task_instances::views(&mut conn, dag_id, Some(&found.run_id), None, None).await?;
    let rows: Vec<TiOut> = views.iter().map(TiOut::from).collect();
    let columns = [
        "dag_id",
        "logical_date",
        "task_id",
        "map_index",
        "state",
        "try_number",
        "start_date",
        "end_date",
    ];
    print_rows(&rows, &columns, output)?;
    Ok(ExitCode::SUCCESS)
}

async fn state(
    pool: &PgPool,
    dag_id: &str,
    task_id: &str,
    run: &str,
    map_index: i32,
) -> anyhow::Result<ExitCode> {
    let found = find_run(pool, dag_id, run).await?;
    let mut conn = pool.acquire().await?;
    let views = task_instances::views(&mut conn, dag_id, Some(&found.run_id), None, None).await?;
    let Some(ti) = views
        .iter()
        .find(|v| v.task_id == task_id && v.map_index == map_index)
    else {
        anyhow::bail!(
            "Task instance {task_id} (map index {map_index}) not found in run {} of DAG {dag_id}",
            found.run_id
        );
    };
    println!("{}", ti.state.as_deref().unwrap_or("None"));
    Ok(ExitCode::SUCCESS)
}

/// The task ids `tasks clear` selects: those matching the regex (all
/// without one; `re.search` semantics, as Airflow's `partial_subset`), plus
/// their upstream and/or downstream relatives, recursively.
fn select_tasks(
    tasks: &SerializedTasks,
    regex: Option<&regex::Regex>,
    upstream: bool,
    downstream: bool,
) -> BTreeSet<String> {
    manual::select_tasks(
        tasks,
        |id| regex.is_none_or(|r| r.is_match(id)),
        upstream,
        downstream,
    )
}

async fn clear(pool: &PgPool, args: ClearArgs) -> anyhow::Result<ExitCode> {
    let tasks = dag_tasks(pool, &args.dag_id).await?;
    let regex = args
        .task_regex
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .context("--task-regex is not a valid regular expression")?;
    let start = args.start_date.as_deref().map(parse_iso).transpose()?;
    let end = args.end_date.as_deref().map(parse_iso).transpose()?;
    let selected = select_tasks(&tasks, regex.as_ref(), args.upstream, args.downstream);
    let mut conn = pool.acquire().await?;
    let tis: Vec<TiView> = task_instances::views(&mut conn, &args.dag_id, None, start, end)
        .await?
        .into_iter()
        .filter(|v| selected.contains(&v.task_id))
        .filter(|v| {
            !args.only_failed || matches!(v.state.as_deref(), Some("failed" | "upstream_failed"))
        })
        .filter(|v| !args.only_running || v.state.as_deref() == Some("running"))
        .collect();
    drop(conn);
    if tis.is_empty() {
        println!("No task instances to clear");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes && !confirm(&tis)? {
        println!("Cancelled, nothing was cleared.");
        return Ok(ExitCode::SUCCESS);
    }
    let cleared = manual::clear(pool, &tasks, &args.dag_id, &tis, "cli").await?;
    println!("Cleared {} task instances.", cleared.len());
    Ok(ExitCode::SUCCESS)
}

/// Airflow's `<TaskInstance: dag.task run_id [state]>`.
fn describe(v: &TiView) -> String {
    let map = if v.map_index >= 0 {
        format!(" map_index={}", v.map_index)
    } else {
        String::new()
    };
    format!(
        "<TaskInstance: {}.{} {}{map} [{}]>",
        v.dag_id,
        v.task_id,
        v.run_id,
        v.state.as_deref().unwrap_or("None")
    )
}

/// Lists what would be cleared and asks on the terminal; without one (a
/// script) refuses rather than guess: `-y` is the way to say yes.
fn confirm(tis: &[TiView]) -> anyhow::Result<bool> {
    let list: Vec<String> = tis.iter().map(describe).collect();
    println!(
        "You are about to delete these {} tasks:\n{}\n",
        tis.len(),
        list.join("\n")
    );
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("not clearing without confirmation: stdin is not a terminal (use -y)");
    }
    print!("Are you sure? [y/n] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> SerializedTasks {
        // a -> b -> c ; x -> b
        let data = serde_json::json!({"tasks": [
            {"task_id": "a", "task_type": "E", "downstream_task_ids": ["b"]},
            {"task_id": "x", "task_type": "E", "downstream_task_ids": ["b"]},
            {"task_id": "b", "task_type": "E", "upstream_task_ids": ["a", "x"],
             "downstream_task_ids": ["c"]},
            {"task_id": "c", "task_type": "E", "upstream_task_ids": ["b"]}
        ]});
        serde::Deserialize::deserialize(&data).expect("tasks")
    }

    fn ids(set: BTreeSet<String>) -> Vec<String> {
        set.into_iter().collect()
    }

    #[test]
    fn selects_relatives_recursively() {
        let g = graph();
        let re = regex::Regex::new("^c$").expect("regex");
        assert_eq!(ids(select_tasks(&g, Some(&re), false, false)), ["c"]);
        assert_eq!(
            ids(select_tasks(&g, Some(&re), true, false)),
            ["a", "b", "c", "x"]
        );
        let re = regex::Regex::new("^a").expect("regex");
        assert_eq!(
            ids(select_tasks(&g, Some(&re), false, true)),
            ["a", "b", "c"]
        );
        // re.search semantics: a regex matching inside an id selects it.
        let re = regex::Regex::new("x").expect("regex");
        assert_eq!(ids(select_tasks(&g, Some(&re), false, false)), ["x"]);
        assert_eq!(select_tasks(&g, None, false, false).len(), 4);
    }
}
