//! `updraft db migrate` and `updraft db check`.

use std::process::ExitCode;

use clap::Subcommand;
use updraft_core::config::Settings;

use crate::wiring;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create or upgrade the schema (idempotent).
    Migrate,
    /// Check that the database answers.
    Check,
}

pub async fn run(cmd: DbCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = wiring::connect(settings).await?;
    match cmd {
        DbCommand::Migrate => {
            updraft_core::db::migrate(&pool).await?;
            let applied = updraft_core::db::MIGRATOR.iter().count();
            println!("Database migrated ({applied} migrations).");
        }
        DbCommand::Check => {
            sqlx::query("SELECT 1").execute(&pool).await?;
            println!("Connection successful.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
