//! Building components from `Settings`: the database pool, the DAG processor
//! and the command that starts parse servers.

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use updraft_core::config::Settings;
use updraft_dag_processor::scan::IgnoreSyntax;
use updraft_dag_processor::{DagProcessor, ParseServerCommand, ProcessorOptions};

/// Connects to the configured database.
pub async fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    connect_url(settings.database_url()?, settings).await
}

/// Connects with a pool of `max_connections` instead of the configured size.
pub async fn connect_sized(settings: &Settings, max_connections: u32) -> anyhow::Result<PgPool> {
    let url = settings.database_url()?;
    updraft_core::db::connect(url, max_connections)
        .await
        .with_context(|| format!("connecting to the database at {}", redact(url)))
}

pub async fn connect_url(url: &str, settings: &Settings) -> anyhow::Result<PgPool> {
    updraft_core::db::connect(url, settings.database.max_connections)
        .await
        .with_context(|| format!("connecting to the database at {}", redact(url)))
}

/// A URL safe to print: the password replaced.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => match rest.split_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or("");
                format!("{scheme}://{user}:***@{host}")
            }
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// The DAG processor for these settings, its parse servers started from this
/// very binary.
pub fn dag_processor(settings: &Settings, db: PgPool) -> anyhow::Result<DagProcessor> {
    let compat_dir = updraft_python::compat::extract(&settings.home.join("python"))?;
    let mut args = vec![
        "__parse-server".into(),
        "--compat-dir".into(),
        compat_dir.into_os_string(),
    ];
    if let Some(venv) = &settings.dag_processor.python_venv {
        args.push("--venv".into());
        args.push(venv.clone().into_os_string());
    }
    let program = std::env::current_exe().context("locating the updraft binary")?;
    let p = &settings.dag_processor;
    Ok(DagProcessor::new(
        db,
        ProcessorOptions {
            dags_folder: settings.core.dags_folder.clone(),
            ignore_syntax: match settings.core.dag_ignore_file_syntax.as_str() {
                "glob" => IgnoreSyntax::Glob,
                _ => IgnoreSyntax::Regexp,
            },
            parse_timeout_secs: p.parse_timeout_secs,
            max_output_bytes: p.max_output_bytes,
            parsing_processes: p.parsing_processes,
            paused_at_creation: settings.core.dags_are_paused_at_creation,
            refresh_interval: Duration::from_secs_f64(p.refresh_interval_secs),
            idle_server_ttl: Duration::from_secs_f64(p.idle_server_ttl_secs),
            server: ParseServerCommand { program, args },
        },
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact("postgres://h/db"), "postgres://h/db");
    }
}
