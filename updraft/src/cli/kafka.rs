//! `updraft kafka topics create|list`: topic administration on the broker of
//! a `kafka` connection (from `AIRFLOW_CONN_*` or the database, as tasks see
//! it). Wiring only: the client work is `updraft_kafka::admin`.

use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;
use sqlx::PgPool;
use updraft_core::model::connection_uri;
use updraft_core::store::connections as store;
use updraft_kafka::KafkaConfig;

use crate::output::{Format, print_rows};

#[derive(Debug, clap::Subcommand)]
pub enum KafkaCommand {
    /// Topics: create, list.
    #[command(subcommand)]
    Topics(TopicsCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum TopicsCommand {
    /// Create topics (an existing topic is left as it is).
    Create {
        #[arg(required = true)]
        names: Vec<String>,
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
        partitions: i32,
        #[arg(long, default_value = "kafka_default")]
        conn_id: String,
    },
    /// List the broker's topics and their partition counts.
    List {
        #[arg(long, default_value = "kafka_default")]
        conn_id: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
}

/// The connection a command uses.
fn conn_id(cmd: &KafkaCommand) -> &str {
    match cmd {
        KafkaCommand::Topics(TopicsCommand::Create { conn_id, .. })
        | KafkaCommand::Topics(TopicsCommand::List { conn_id, .. }) => conn_id,
    }
}

pub async fn run(
    cmd: KafkaCommand,
    pool: impl std::future::Future<Output = anyhow::Result<PgPool>>,
) -> anyhow::Result<ExitCode> {
    let config = config_for(conn_id(&cmd), pool).await?;
    let KafkaCommand::Topics(cmd) = cmd;
    match cmd {
        TopicsCommand::Create {
            names, partitions, ..
        } => {
            let topics: Vec<(&str, i32)> = names.iter().map(|n| (n.as_str(), partitions)).collect();
            updraft_kafka::admin::create_topics(&config, &topics).await?;
            for name in &names {
                println!("Topic {name} ready on {}", config.bootstrap_servers());
            }
        }
        TopicsCommand::List { output, .. } => {
            #[derive(Serialize)]
            struct Row {
                topic: String,
                partitions: usize,
            }
            let rows: Vec<Row> = updraft_kafka::admin::list_topics(&config)
                .await?
                .into_iter()
                .map(|t| Row {
                    topic: t.name,
                    partitions: t.partitions,
                })
                .collect();
            print_rows(&rows, &["topic", "partitions"], output)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The connection's Kafka config: the environment first, then the database
/// (connected to only then: with `AIRFLOW_CONN_KAFKA_DEFAULT` set, no
/// database is needed).
async fn config_for(
    conn_id: &str,
    pool: impl std::future::Future<Output = anyhow::Result<PgPool>>,
) -> anyhow::Result<KafkaConfig> {
    let row = match connection_uri::env_connection(conn_id)? {
        Some(row) => row,
        None => {
            let pool = pool.await?;
            let mut conn = pool.acquire().await?;
            store::get(&mut conn, conn_id).await?.with_context(|| {
                format!(
                    "Connection with `conn_id`={conn_id} not found (add it with `updraft \
                     connections add {conn_id} --conn-uri 'kafka://?bootstrap.servers=HOST:PORT'`, \
                     or set {})",
                    connection_uri::env_key(conn_id)
                )
            })?
        }
    };
    let extra: serde_json::Value = row
        .extra_text()
        .map(serde_json::Value::String)
        .unwrap_or_else(|| serde_json::json!({}));
    Ok(KafkaConfig::from_connection(
        &row.conn_id,
        Some(&row.conn_type),
        &extra,
    )?)
}
