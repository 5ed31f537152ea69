//! `updraft variables get|set|delete|list|import|export`, in Airflow's
//! shape (messages, the JSON file format of `export`/`import`). Wiring only:
//! the SQL is `core::store::variables`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::Value;
use sqlx::PgPool;

use crate::output::{Format, print_rows};

#[derive(Debug, clap::Subcommand)]
pub enum VariablesCommand {
    /// Print a variable's value.
    Get {
        key: String,
        /// Print the value as (pretty) JSON.
        #[arg(short, long)]
        json: bool,
        /// The value to print when the variable does not exist.
        #[arg(short, long)]
        default: Option<String>,
    },
    /// Create or replace a variable.
    Set {
        key: String,
        value: String,
        #[arg(long)]
        description: Option<String>,
        /// The value is JSON: store it normalised.
        #[arg(short, long)]
        json: bool,
    },
    /// Delete a variable.
    Delete { key: String },
    /// List the variables' keys.
    List {
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
    /// Import variables from a JSON object file (`-`: stdin).
    Import {
        file: String,
        /// What to do when a key exists already.
        #[arg(short, long, value_enum, default_value_t = OnExisting::Overwrite)]
        action_on_existing_key: OnExisting,
    },
    /// Export all variables to a JSON object file (`-`: stdout).
    Export { file: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnExisting {
    Overwrite,
    Fail,
    Skip,
}

pub async fn run(cmd: VariablesCommand, pool: &PgPool) -> anyhow::Result<ExitCode> {
    use updraft_core::store::variables as store;
    let mut conn = pool.acquire().await?;
    match cmd {
        VariablesCommand::Get { key, json, default } => {
            let value = match store::get(&mut conn, &key).await? {
                Some(row) => row.val,
                None => match default {
                    Some(d) => d,
                    None => anyhow::bail!("Variable {key} does not exist"),
                },
            };
            if json {
                let parsed: Value = serde_json::from_str(&value)
                    .with_context(|| format!("Variable {key} is not JSON"))?;
                println!("{}", serde_json::to_string_pretty(&parsed)?);
            } else {
                println!("{value}");
            }
        }
        VariablesCommand::Set {
            key,
            value,
            description,
            json,
        } => {
            let value = if json {
                let parsed: Value = serde_json::from_str(&value)
                    .with_context(|| format!("the value is not valid JSON: {value}"))?;
                serde_json::to_string_pretty(&parsed)?
            } else {
                value
            };
            store::set(&mut conn, &key, &value, description.as_deref()).await?;
            println!("Variable {key} created");
        }
        VariablesCommand::Delete { key } => {
            if !store::delete(&mut conn, &key).await? {
                anyhow::bail!("Variable {key} does not exist");
            }
            println!("Variable {key} deleted");
        }
        VariablesCommand::List { output } => {
            // Keys only, as Airflow: values may be secrets.
            let rows: Vec<BTreeMap<&str, String>> = store::list(&mut conn)
                .await?
                .into_iter()
                .map(|v| BTreeMap::from([("key", v.key)]))
                .collect();
            print_rows(&rows, &["key"], output)?;
        }
        VariablesCommand::Import {
            file,
            action_on_existing_key,
        } => {
            let text = super::read_input(&file)
                .with_context(|| format!("Missing variables file {file}"))?;
            let Ok(Value::Object(vars)) = serde_json::from_str::<Value>(&text) else {
                anyhow::bail!("Invalid variables file {file}: expected a JSON object");
            };
            let mut tx = pool.begin().await?;
            let (mut done, mut skipped) = (0usize, Vec::new());
            for (key, value) in &vars {
                if action_on_existing_key != OnExisting::Overwrite
                    && store::get(&mut tx, key).await?.is_some()
                {
                    if action_on_existing_key == OnExisting::Fail {
                        anyhow::bail!("Failed to set variable {key}: it exists already");
                    }
                    skipped.push(key.as_str());
                    continue;
                }
                // Strings are stored as they are; anything else as its JSON.
                let val = match value {
                    Value::String(s) => s.clone(),
                    other => serde_json::to_string(other)?,
                };
                store::set(&mut tx, key, &val, None).await?;
                done += 1;
            }
            tx.commit().await?;
            println!("{done} of {} variables successfully updated.", vars.len());
            if !skipped.is_empty() {
                println!(
                    "The variables with these keys: {skipped:?} were skipped because they already exists"
                );
            }
        }
        VariablesCommand::Export { file } => {
            // Values that are JSON are exported as JSON, as Airflow does.
            let vars: BTreeMap<String, Value> = store::list(&mut conn)
                .await?
                .into_iter()
                .map(|v| {
                    let val = serde_json::from_str(&v.val).unwrap_or(Value::String(v.val));
                    (v.key, val)
                })
                .collect();
            super::write_output(&file, &serde_json::to_string_pretty(&vars)?)?;
            if file != "-" {
                println!("{} variables successfully exported to {file}", vars.len());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
