//! `-o table|json|yaml`, as Airflow's CLI prints lists.

use clap::ValueEnum;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
    Plain,
}

/// Prints rows: `columns` pick and order the table's columns.
pub fn print_rows<T: Serialize>(
    rows: &[T],
    columns: &[&str],
    format: Format,
) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(rows)?),
        Format::Yaml => print!("{}", serde_yaml::to_string(rows)?),
        Format::Table | Format::Plain => {
            let values: Vec<serde_json::Value> = rows
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            let cells = |v: &serde_json::Value| -> Vec<String> {
                columns.iter().map(|c| cell(v.get(*c))).collect()
            };
            if matches!(format, Format::Plain) {
                for v in &values {
                    println!("{}", cells(v).join("\t"));
                }
                return Ok(());
            }
            let mut table = Table::new();
            table
                .load_preset(UTF8_FULL_CONDENSED)
                .set_header(columns.to_vec());
            for v in &values {
                table.add_row(cells(v));
            }
            println!("{table}");
        }
    }
    Ok(())
}

fn cell(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => "None".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|i| cell(Some(i)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}
