//! `updraft connections get|add|delete|list|import|export`, in Airflow's
//! shape: its `--conn-*` flags, its URI form (`Connection.get_uri`), its
//! JSON export file and the fields `get`/`list` print (Airflow prints the
//! password there too). Wiring only: the SQL is `core::store::connections`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use updraft_core::model::connection_uri::{self, from_file_entry, parse_uri};
use updraft_core::model::secrets::masked;
use updraft_core::store::connections::{self as store, ConnectionRow};

use crate::output::{Format, print_rows};

#[derive(Debug, clap::Subcommand)]
pub enum ConnectionsCommand {
    /// Show one connection.
    Get {
        conn_id: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
    /// Add a connection (from --conn-uri, --conn-json or the --conn-* fields).
    Add(Box<AddArgs>),
    /// Delete a connection.
    Delete { conn_id: String },
    /// List the connections.
    List {
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
        /// Only this connection.
        #[arg(long)]
        conn_id: Option<String>,
    },
    /// Import connections from a JSON file (`-`: stdin).
    Import {
        file: String,
        /// Replace connections that exist already.
        #[arg(long)]
        overwrite: bool,
    },
    /// Export all connections to a JSON file (`-`: stdout).
    Export { file: String },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    pub conn_id: String,
    #[arg(long)]
    pub conn_uri: Option<String>,
    #[arg(long, conflicts_with_all = ["conn_uri"])]
    pub conn_json: Option<String>,
    #[arg(long)]
    pub conn_type: Option<String>,
    #[arg(long)]
    pub conn_description: Option<String>,
    #[arg(long)]
    pub conn_host: Option<String>,
    #[arg(long)]
    pub conn_login: Option<String>,
    #[arg(long)]
    pub conn_password: Option<String>,
    #[arg(long)]
    pub conn_schema: Option<String>,
    #[arg(long)]
    pub conn_port: Option<i32>,
    #[arg(long)]
    pub conn_extra: Option<String>,
}

pub async fn run(cmd: ConnectionsCommand, pool: &PgPool) -> anyhow::Result<ExitCode> {
    let mut conn = pool.acquire().await?;
    match cmd {
        ConnectionsCommand::Get { conn_id, output } => {
            // As Airflow's `BaseHook.get_connection`: the environment
            // (AIRFLOW_CONN_*) first, then the database.
            let row = match connection_uri::env_connection(&conn_id)? {
                Some(row) => row,
                None => store::get(&mut conn, &conn_id)
                    .await?
                    .with_context(|| format!("Connection with `conn_id`={conn_id} not found"))?,
            };
            print_rows(&[Shown::from(&row)], COLUMNS, output)?;
        }
        // Airflow's list shows the database's connections only, not the
        // environment's. Unlike Airflow's, it hides passwords and secret
        // extras (a listing is what gets pasted around); `get` names one
        // connection and shows it whole, as Airflow's does, and `export`
        // writes everything.
        ConnectionsCommand::List { output, conn_id } => {
            let rows: Vec<Shown> = store::all(&mut conn)
                .await?
                .iter()
                .filter(|c| conn_id.as_ref().is_none_or(|id| *id == c.conn_id))
                .map(|c| Shown::from(&masked(c)))
                .collect();
            print_rows(&rows, COLUMNS, output)?;
        }
        ConnectionsCommand::Add(args) => {
            let row = from_args(&args)?;
            if !store::put(&mut conn, &row, false).await? {
                anyhow::bail!(
                    "A connection with `conn_id`={} already exists.",
                    row.conn_id
                );
            }
            let uri = match &args.conn_uri {
                Some(uri) => uri.clone(),
                None => masked_summary(&row),
            };
            println!("Successfully added `conn_id`={} : {uri}", row.conn_id);
        }
        ConnectionsCommand::Delete { conn_id } => {
            if !store::delete(&mut conn, &conn_id).await? {
                anyhow::bail!("Did not find a connection with `conn_id`={conn_id}");
            }
            println!("Successfully deleted connection with `conn_id`={conn_id}");
        }
        ConnectionsCommand::Import { file, overwrite } => {
            let text = super::read_input(&file)
                .with_context(|| format!("Missing connections file {file}"))?;
            let Ok(Value::Object(entries)) = serde_json::from_str::<Value>(&text) else {
                anyhow::bail!("Invalid connections file {file}: expected a JSON object");
            };
            let rows = entries
                .iter()
                .map(|(id, v)| from_file_entry(id, v))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("Invalid connections file {file}"))?;
            let mut tx = pool.begin().await?;
            for row in &rows {
                if store::put(&mut tx, row, overwrite).await? {
                    println!("Imported connection {}", row.conn_id);
                } else {
                    println!(
                        "Could not import connection {}: connection already exists.",
                        row.conn_id
                    );
                }
            }
            tx.commit().await?;
        }
        ConnectionsCommand::Export { file } => {
            let all: BTreeMap<String, Value> = store::all(&mut conn)
                .await?
                .iter()
                .map(|c| (c.conn_id.clone(), to_file_entry(c)))
                .collect();
            super::write_output(&file, &serde_json::to_string_pretty(&all)?)?;
            if file != "-" {
                println!("Connections successfully exported to {file}.");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

const COLUMNS: &[&str] = &[
    "conn_id",
    "conn_type",
    "description",
    "host",
    "schema",
    "login",
    "password",
    "port",
    "extra_dejson",
    "get_uri",
];

/// Airflow's `_connection_mapper` (no numeric `id`: the table's key is the
/// conn id).
#[derive(Debug, Serialize)]
struct Shown {
    conn_id: String,
    conn_type: String,
    description: Option<String>,
    host: Option<String>,
    schema: Option<String>,
    login: Option<String>,
    password: Option<String>,
    port: Option<i32>,
    is_encrypted: bool,
    is_extra_encrypted: bool,
    extra_dejson: Value,
    get_uri: String,
}

impl From<&ConnectionRow> for Shown {
    fn from(c: &ConnectionRow) -> Self {
        Self {
            conn_id: c.conn_id.clone(),
            conn_type: c.conn_type.clone(),
            description: c.description.clone(),
            host: c.host.clone(),
            schema: c.schema.clone(),
            login: c.login.clone(),
            password: c.password_text(),
            port: c.port,
            // Encryption at rest is later work (see core::store::connections).
            is_encrypted: false,
            is_extra_encrypted: false,
            extra_dejson: extra_dejson(c.extra_text().as_deref()),
            get_uri: get_uri(c),
        }
    }
}

/// `extra` as a JSON object; `{}` when empty or not JSON (as Airflow).
fn extra_dejson(extra: Option<&str>) -> Value {
    extra
        .and_then(|e| serde_json::from_str::<Value>(e).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

/// Python's `quote(s, safe="")`.
fn quote(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Airflow's `Connection.get_uri()`.
fn get_uri(c: &ConnectionRow) -> String {
    let mut uri = format!("{}://", c.conn_type.to_lowercase().replace('_', "-"));
    let mut auth = String::new();
    if let Some(login) = &c.login {
        auth.push_str(&quote(login));
    }
    if let Some(password) = c.password_text() {
        auth.push(':');
        auth.push_str(&quote(&password));
    }
    if !auth.is_empty() {
        uri.push_str(&auth);
        uri.push('@');
    }
    let mut host = String::new();
    if let Some(h) = c.host.as_deref().filter(|h| !h.is_empty()) {
        host.push_str(&quote(h));
    }
    if let Some(port) = c.port.filter(|p| *p != 0) {
        if host.is_empty() && auth.is_empty() {
            host.push_str(&format!("@:{port}"));
        } else {
            host.push_str(&format!(":{port}"));
        }
    }
    let schema = c.schema.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = schema {
        host.push('/');
        host.push_str(&quote(s));
    }
    uri.push_str(&host);
    if let Some(extra) = c.extra_text().filter(|e| !e.is_empty()) {
        uri.push_str(if schema.is_some() { "?" } else { "/?" });
        uri.push_str(&extra_query(&extra));
    }
    uri
}

/// The query of `get_uri`: the extra's fields when it is a flat object of
/// strings, else the whole extra under `__extra__`.
fn extra_query(extra: &str) -> String {
    let flat: Option<Vec<(String, String)>> = match serde_json::from_str::<Value>(extra) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect(),
        _ => None,
    };
    let pairs = flat.unwrap_or_else(|| vec![("__extra__".to_owned(), extra.to_owned())]);
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// What `connections add` echoes when no URI was given: the password hidden.
fn masked_summary(c: &ConnectionRow) -> String {
    format!(
        "{}://{}:{}@{}:{}/{}",
        c.conn_type,
        c.login.as_deref().unwrap_or(""),
        if c.password.is_some() { "******" } else { "" },
        c.host.as_deref().unwrap_or(""),
        c.port.map(|p| p.to_string()).unwrap_or_default(),
        c.schema.as_deref().unwrap_or("")
    )
}

/// `connections add`'s arguments, with Airflow's rules: a URI, JSON, or a
/// type, and `--conn-extra` must be JSON.
fn from_args(a: &AddArgs) -> anyhow::Result<ConnectionRow> {
    let mut row = if let Some(uri) = &a.conn_uri {
        if a.conn_type.is_some() {
            anyhow::bail!("--conn-uri and --conn-type cannot be given together");
        }
        parse_uri(&a.conn_id, uri).context("--conn-uri")?
    } else if let Some(text) = &a.conn_json {
        let v: Value = serde_json::from_str(text)
            .with_context(|| format!("--conn-json is not valid JSON: {text}"))?;
        from_file_entry(&a.conn_id, &v).context("--conn-json")?
    } else {
        let Some(conn_type) = &a.conn_type else {
            anyhow::bail!(
                "The following args are required to add a connection: ['conn-uri or conn-type']"
            );
        };
        ConnectionRow {
            conn_id: a.conn_id.clone(),
            conn_type: conn_type.clone(),
            description: None,
            host: None,
            schema: None,
            login: None,
            password: None,
            port: None,
            extra: None,
        }
    };
    let set = |field: &mut Option<String>, v: &Option<String>| {
        if v.is_some() {
            field.clone_from(v);
        }
    };
    set(&mut row.description, &a.conn_description);
    set(&mut row.host, &a.conn_host);
    set(&mut row.login, &a.conn_login);
    set(&mut row.schema, &a.conn_schema);
    if let Some(p) = &a.conn_password {
        row.password = Some(p.clone().into_bytes());
    }
    if let Some(p) = a.conn_port {
        row.port = Some(p);
    }
    if let Some(extra) = &a.conn_extra {
        serde_json::from_str::<Value>(extra)
            .with_context(|| format!("--conn-extra is not valid JSON: {extra}"))?;
        row.extra = Some(extra.clone().into_bytes());
    }
    Ok(row)
}

/// Airflow's JSON export entry (`_connection_to_dict`).
fn to_file_entry(c: &ConnectionRow) -> Value {
    json!({
        "conn_type": c.conn_type,
        "description": c.description,
        "login": c.login,
        "password": c.password_text(),
        "host": c.host,
        "port": c.port,
        "schema": c.schema,
        "extra": c.extra_text(),
    })
}

#[cfg(test)]
mod tests {
    use updraft_core::model::secrets::HIDDEN;

    use super::*;

    // Parsing is core's (model::connection_uri, tested there); the URI
    // written back is the one read.
    #[test]
    fn uri_round_trips_through_get_uri() {
        let uri = "postgres://us%40er:p%2Fw%20x@db.example:5432/my%20db?sslmode=require";
        let c = parse_uri("pg", uri).expect("parse");
        assert_eq!(get_uri(&c), uri);
        let again = parse_uri("pg", &get_uri(&c)).expect("parse again");
        assert_eq!(again, c);
    }

    // A listing hides the password and secret extras, nested too, and
    // keeps the rest.
    #[test]
    fn listings_hide_secrets() {
        let mut c = parse_uri("k", "kafka://me:pw@broker:9092").expect("parse");
        c.extra = Some(
            br#"{"bootstrap.servers": "b:1", "sasl.password": "hunter2", "ssl.key.pem": "KEY",
                "nested": {"api_token": "t0k"}, "group.id": "g"}"#
                .to_vec(),
        );
        let shown = Shown::from(&masked(&c));
        assert_eq!(shown.password.as_deref(), Some(HIDDEN));
        assert_eq!(
            shown.extra_dejson,
            json!({"bootstrap.servers": "b:1", "sasl.password": "***", "ssl.key.pem": "***",
                "nested": {"api_token": "***"}, "group.id": "g"})
        );
        for secret in ["pw", "hunter2", "KEY", "t0k"] {
            assert!(!shown.get_uri.contains(secret), "{}", shown.get_uri);
        }
    }

    #[test]
    fn nested_extra_goes_under_extra_key() {
        let mut c = parse_uri("k", "kafka-x://broker:9092").expect("parse");
        assert_eq!(c.conn_type, "kafka_x");
        c.extra = Some(br#"{"a": {"b": 1}}"#.to_vec());
        let uri = get_uri(&c);
        assert!(
            uri.starts_with("kafka-x://broker:9092/?__extra__="),
            "{uri}"
        );
        let back = parse_uri("k", &uri).expect("parse");
        assert_eq!(back.extra_text().as_deref(), Some(r#"{"a": {"b": 1}}"#));
    }
}
