//! `updraft standalone` (everything in one process) and `updraft dag-processor`.

use std::process::ExitCode;

use updraft_core::config::Settings;

use crate::embedded_db::EmbeddedDb;
use crate::wiring;

/// Runs the DAG processor until Ctrl-C.
pub async fn dag_processor(settings: &Settings) -> anyhow::Result<ExitCode> {
    let shutdown = shutdown_signal();
    let pool = wiring::connect(settings).await?;
    updraft_core::db::migrate(&pool).await?;
    let processor = wiring::dag_processor(settings, pool)?;
    processor.run(shutdown).await;
    Ok(ExitCode::SUCCESS)
}

/// Starts the embedded database when no URL is configured, migrates, and runs
/// the components. Today that is the DAG processor: the scheduler, workers
/// and web UI join as they are built (issues #3, #5).
pub async fn run(mut settings: Settings) -> anyhow::Result<ExitCode> {
    let shutdown = shutdown_signal();
    let embedded = match settings.database.url {
        Some(_) => None,
        None => {
            let home = settings.home.clone();
            let db = tokio::task::spawn_blocking(move || EmbeddedDb::start(&home)).await??;
            let admin = wiring::connect_url(&db.admin_url(), &settings).await?;
            let exists: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'updraft')",
            )
            .fetch_one(&admin)
            .await?;
            if !exists {
                sqlx::query("CREATE DATABASE updraft")
                    .execute(&admin)
                    .await?;
            }
            admin.close().await;
            settings.database.url = Some(db.url("updraft").into());
            println!(
                "Embedded database: {} (data in {})",
                db.url("updraft"),
                db.data_dir().display()
            );
            Some(db)
        }
    };
    let result = run_components(&settings, shutdown).await;
    if let Some(db) = embedded {
        tokio::task::spawn_blocking(move || db.stop()).await?;
        println!("Embedded database stopped.");
    }
    result
}

async fn run_components(
    settings: &Settings,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<ExitCode> {
    let pool = wiring::connect(settings).await?;
    updraft_core::db::migrate(&pool).await?;
    let processor = wiring::dag_processor(settings, pool.clone())?;
    let first = processor
        .refresh(updraft_dag_processor::Mode::Changed)
        .await?;
    let dags = updraft_core::store::dags::list(&pool).await?;
    let errors = updraft_core::store::import_errors::list(&pool).await?;
    println!(
        "Updraft standalone: {} DAGs loaded from {} ({} import errors) in {:.2} s.",
        dags.len(),
        settings.core.dags_folder.display(),
        errors.len(),
        first.elapsed.as_secs_f64()
    );
    for w in updraft_core::store::dags::all_warnings(&pool).await? {
        println!(
            "  Warning: DAG {} task {}: {}",
            w.dag_id, w.task_id, w.message
        );
    }
    for e in &errors {
        println!(
            "  Broken DAG: {}:{} {}",
            e.filename,
            e.line.map_or("?".into(), |l| l.to_string()),
            e.message
        );
    }
    println!(
        "Watching the dags folder; Ctrl-C stops. (Scheduler, workers and web UI: not built yet.)"
    );
    processor.run(shutdown).await;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM (what service managers and `timeout` send). The
/// handlers are installed when this is called, not when the future is first
/// polled: a signal during start-up is kept, not fatal.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
