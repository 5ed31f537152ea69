//! `updraft pools get|set|delete|list|import|export`, in Airflow's shape
//! (the export file is `{name: {slots, description, include_deferred}}`).
//! Wiring only: the SQL is `core::store::pools`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use updraft_core::store::pools::{self as store, DEFAULT_POOL, PoolRow};

use crate::output::{Format, print_rows};

#[derive(Debug, clap::Subcommand)]
pub enum PoolsCommand {
    /// Show one pool.
    Get {
        name: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
    /// Create or update a pool.
    Set {
        name: String,
        /// -1: unlimited.
        #[arg(allow_negative_numbers = true)]
        slots: i32,
        description: String,
        /// Deferred task instances take slots too.
        #[arg(long)]
        include_deferred: bool,
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
    /// Delete a pool.
    Delete {
        name: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
    /// List the pools.
    List {
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
    /// Create or update pools from a JSON file (`-`: stdin).
    Import { file: String },
    /// Export all pools to a JSON file (`-`: stdout).
    Export { file: String },
}

const COLUMNS: &[&str] = &["pool", "slots", "description", "include_deferred"];

/// One pool in Airflow's export file.
#[derive(Debug, Serialize, Deserialize)]
struct PoolEntry {
    slots: i32,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    include_deferred: bool,
}

pub async fn run(cmd: PoolsCommand, pool: &PgPool) -> anyhow::Result<ExitCode> {
    let mut conn = pool.acquire().await?;
    match cmd {
        PoolsCommand::Get { name, output } => {
            let row = store::get(&mut conn, &name)
                .await?
                .with_context(|| format!("Pool {name} does not exist"))?;
            print_rows(&[row], COLUMNS, output)?;
        }
        PoolsCommand::Set {
            name,
            slots,
            description,
            include_deferred,
            output,
        } => {
            if slots < -1 {
                anyhow::bail!("Pool {name}: slots must be -1 (unlimited) or more, not {slots}");
            }
            let row = PoolRow {
                pool: name,
                slots,
                description: Some(description),
                include_deferred,
            };
            let row = store::set(&mut conn, &row).await?;
            print_rows(&[row], COLUMNS, output)?;
        }
        PoolsCommand::Delete { name, output } => {
            if name == DEFAULT_POOL {
                anyhow::bail!("{DEFAULT_POOL} cannot be deleted");
            }
            let row = store::delete(&mut conn, &name)
                .await
                .with_context(|| format!("Pool {name} is still used by task instances"))?
                .with_context(|| format!("Pool {name} does not exist"))?;
            print_rows(&[row], COLUMNS, output)?;
        }
        PoolsCommand::List { output } => {
            print_rows(&store::list(&mut conn).await?, COLUMNS, output)?;
        }
        PoolsCommand::Import { file } => {
            let text =
                super::read_input(&file).with_context(|| format!("Missing pools file {file}"))?;
            let entries: BTreeMap<String, PoolEntry> = serde_json::from_str(&text)
                .with_context(|| format!("Invalid pools file {file}"))?;
            if let Some((name, e)) = entries.iter().find(|(_, e)| e.slots < -1) {
                anyhow::bail!(
                    "Invalid pools file {file}: pool {name} has {} slots",
                    e.slots
                );
            }
            let mut tx = pool.begin().await?;
            for (name, e) in &entries {
                let row = PoolRow {
                    pool: name.clone(),
                    slots: e.slots,
                    description: e.description.clone(),
                    include_deferred: e.include_deferred,
                };
                store::set(&mut tx, &row).await?;
            }
            tx.commit().await?;
            println!("Uploaded {} pool(s)", entries.len());
        }
        PoolsCommand::Export { file } => {
            let entries: BTreeMap<String, PoolEntry> = store::list(&mut conn)
                .await?
                .into_iter()
                .map(|p| {
                    let entry = PoolEntry {
                        slots: p.slots,
                        description: p.description,
                        include_deferred: p.include_deferred,
                    };
                    (p.pool, entry)
                })
                .collect();
            super::write_output(&file, &serde_json::to_string_pretty(&entries)?)?;
            if file != "-" {
                println!("Exported {} pools to {file}", entries.len());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
