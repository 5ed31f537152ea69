//! `updraft dags …`: list, list-import-errors, show, reserialize; the run
//! commands (trigger, list-runs, pause, unpause) live in `dag_runs`, `dags
//! test` in `dags_test`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::Value;
use updraft_core::config::Settings;
use updraft_core::store::{dags, import_errors};
use updraft_dag_processor::Mode;

use super::dag_runs;
use crate::output::{Format, print_rows};
use crate::wiring;

#[derive(Debug, Subcommand)]
pub enum DagsCommand {
    /// List the active DAGs.
    List {
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
    /// List the DAG files that failed to load, with file, line and traceback.
    ListImportErrors {
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
    /// Show a DAG: its graph in Graphviz DOT, or with --json the serialized DAG.
    Show {
        dag_id: String,
        /// Print the serialized DAG as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List problems found while parsing that do not stop a DAG from loading.
    ListWarnings {
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
    /// Create a manual DAG run now (queued, with its task instances).
    Trigger(dag_runs::TriggerArgs),
    /// List the runs of a DAG, newest first.
    ListRuns(dag_runs::ListRunsArgs),
    /// Run the whole DAG once in this process (no scheduler or worker
    /// needed, paused or not), printing each task's log.
    Test(super::dags_test::DagTestArgs),
    /// Pause a DAG: the scheduler creates no runs for it.
    Pause { dag_id: String },
    /// Unpause a DAG.
    Unpause { dag_id: String },
    /// Parse every DAG file now, store the results and exit.
    Reserialize {
        /// Parse only new or changed files (what each pass of the processor does).
        #[arg(long)]
        only_changed: bool,
    },
}

pub async fn run(cmd: DagsCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = wiring::connect(settings).await?;
    match cmd {
        DagsCommand::Trigger(args) => return dag_runs::trigger(args, &pool, settings).await,
        DagsCommand::ListRuns(args) => return dag_runs::list_runs(args, &pool).await,
        DagsCommand::Test(args) => {
            let defaults = updraft_core::timetable::ScheduleDefaults::from(&settings.scheduler);
            return super::dags_test::dag_test(args, &pool, &defaults).await;
        }
        DagsCommand::Pause { dag_id } => return dag_runs::set_paused(&pool, &dag_id, true).await,
        DagsCommand::Unpause { dag_id } => {
            return dag_runs::set_paused(&pool, &dag_id, false).await;
        }
        DagsCommand::List { output } => {
            let rows = dags::list(&pool).await?;
            print_rows(&rows, &["dag_id", "fileloc", "owners", "is_paused"], output)?;
        }
        DagsCommand::ListImportErrors { output } => {
            let rows = import_errors::list(&pool).await?;
            print_rows(&rows, &["filename", "line", "kind", "message"], output)?;
            if !rows.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        DagsCommand::ListWarnings { output } => {
            let rows = dags::all_warnings(&pool).await?;
            print_rows(
                &rows,
                &["dag_id", "task_id", "warning_type", "message"],
                output,
            )?;
        }
        DagsCommand::Show { dag_id, json } => {
            let Some(data) = dags::serialized(&pool, &dag_id).await? else {
                eprintln!(
                    "error: DAG {dag_id:?} not found (run `updraft dags list` to see the loaded DAGs)"
                );
                return Ok(ExitCode::from(1));
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&data)?);
            } else {
                print!("{}", dot(&dag_id, &data));
            }
        }
        DagsCommand::Reserialize { only_changed } => {
            let processor = wiring::dag_processor(settings, pool.clone())?;
            let mode = if only_changed {
                Mode::Changed
            } else {
                Mode::All
            };
            let report = processor.refresh(mode).await;
            processor.shutdown().await;
            let report = report.context("reserializing the dags folder")?;
            for p in &report.scan_problems {
                eprintln!("warning: {}: {}", p.path.display(), p.message);
            }
            let secs = report.elapsed.as_secs_f64();
            println!(
                "Parsed {} files in {:.3} s ({:.0} files/s): {} DAGs, {} new versions, {} import errors, {} files gone.",
                report.files_parsed,
                secs,
                report.files_parsed as f64 / secs.max(1e-9),
                report.dags,
                report.new_versions,
                report.import_errors,
                report.files_gone,
            );
            for w in dags::all_warnings(&pool).await? {
                eprintln!(
                    "warning: DAG {} task {}: {}",
                    w.dag_id, w.task_id, w.message
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The DAG's graph in Graphviz DOT, as `airflow dags show` prints it.
fn dot(dag_id: &str, data: &Value) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = format!(
        "digraph {} {{\n  graph [label={}, labelloc=t, rankdir=LR];\n",
        quote(dag_id),
        quote(dag_id)
    );
    let labels: std::collections::HashMap<(String, String), String> = data["edge_labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                (e["from"].as_str()?.to_owned(), e["to"].as_str()?.to_owned()),
                e["label"].as_str()?.to_owned(),
            ))
        })
        .collect();
    for task in data["tasks"].as_array().into_iter().flatten() {
        let Some(id) = task["task_id"].as_str() else {
            continue;
        };
        out.push_str(&format!("  {} [shape=rectangle];\n", quote(id)));
        for down in task["downstream_task_ids"].as_array().into_iter().flatten() {
            let Some(down) = down.as_str() else { continue };
            match labels.get(&(id.to_owned(), down.to_owned())) {
                Some(l) => out.push_str(&format!(
                    "  {} -> {} [label={}];\n",
                    quote(id),
                    quote(down),
                    quote(l)
                )),
                None => out.push_str(&format!("  {} -> {};\n", quote(id), quote(down))),
            }
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dot_has_edges_and_labels() {
        let data = serde_json::json!({
            "edge_labels": [{"from": "a", "to": "b", "label": "yes"}],
            "tasks": [
                {"task_id": "a", "downstream_task_ids": ["b", "c"]},
                {"task_id": "b", "downstream_task_ids": []},
                {"task_id": "c\"q", "downstream_task_ids": []}
            ]
        });
        let text = super::dot("d", &data);
        assert!(text.contains("\"a\" -> \"b\" [label=\"yes\"];"), "{text}");
        assert!(text.contains("\"a\" -> \"c\";"), "{text}");
        assert!(text.contains("\"c\\\"q\" [shape=rectangle];"), "{text}");
    }
}
