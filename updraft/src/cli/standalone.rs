//! `updraft standalone` (DAG processor, scheduler, worker pool and web UI in
//! one process, with an embedded database when none is configured and an
//! embedded Kafka broker when no `kafka_default` connection exists) and
//! `updraft dag-processor`.

use std::process::ExitCode;

use anyhow::Context;
use sqlx::PgPool;
use tokio::sync::watch;
use updraft_core::config::Settings;
use updraft_core::timetable::ScheduleDefaults;
use updraft_worker::run::WorkerOptions;

use crate::cli::scheduler::SchedulerLoop;
use crate::embedded_db::EmbeddedDb;
use crate::wiring;

#[derive(Debug, clap::Args)]
pub struct DagProcessorArgs {
    /// Serve this process's Prometheus `/metrics` on this port (0: any).
    #[arg(long)]
    pub metrics_port: Option<u16>,
}

/// Runs the DAG processor until Ctrl-C.
pub async fn dag_processor(
    args: DagProcessorArgs,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    let shutdown = shutdown_signal();
    let pool = wiring::connect(settings).await?;
    if let Some(port) = args.metrics_port {
        super::webserver::spawn_metrics(settings, port).await?;
    }
    updraft_core::db::migrate(&pool).await?;
    let processor = wiring::dag_processor(settings, pool)?;
    processor.run(shutdown).await;
    Ok(ExitCode::SUCCESS)
}

/// Starts the embedded database when no URL is configured, migrates, and runs
/// the DAG processor, the scheduler loop and a worker pool in this process
/// until SIGINT/SIGTERM. Then every component stops (the worker lets its
/// running tries finish) and the embedded cluster stops last.
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
    print_loaded(settings, &pool, first.elapsed.as_secs_f64()).await?;
    create_admin_if_no_user(&pool).await?;
    std::fs::create_dir_all(&settings.home)
        .with_context(|| format!("creating {}", settings.home.display()))?;
    // Before the worker starts (its Kafka tasks need the connection), and
    // stopped after it (its running tries may still use the broker).
    let broker = crate::embedded_broker::start_if_needed(&pool, &settings.home).await?;

    // One pool per component, so a busy worker cannot starve the scheduler
    // of connections (and the other way round).
    let concurrency = settings.worker.concurrency.max(1);
    let scheduler_pool = wiring::connect(settings).await?;
    let worker_pool = wiring::connect_sized(settings, worker_connections(settings)).await?;
    let scheduler = SchedulerLoop::new(scheduler_pool.clone(), settings, 1.0);
    let worker_opts = WorkerOptions {
        concurrency,
        // Like Airflow's standalone (LocalExecutor), run tasks of any queue.
        queues: Vec::new(),
        hitl: updraft_worker::native::hitl_notify::NotifySettings::from_settings(settings),
        ..WorkerOptions::default()
    };
    // The web UI: a port already taken is reported, not fatal.
    let web_listener =
        match super::webserver::bind(&settings.webserver.host, settings.webserver.port).await {
            Ok(listener) => Some(listener),
            Err(e) => {
                eprintln!("Webserver not started: {e:#}. Everything else runs.");
                None
            }
        };
    println!(
        "Scheduler and a worker pool of {concurrency} slots running; watching the dags \
         folder. Ctrl-C stops."
    );

    // Every component waits on the same stop flag; the signal sets it.
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let processor_task = tokio::spawn({
        let stop = stopped();
        async move { processor.run(stop).await }
    });
    let scheduler_task = tokio::spawn(scheduler.run(stopped()));
    let schedule = ScheduleDefaults::from(&settings.scheduler);
    let web_task = web_listener.map(|listener| {
        tokio::spawn(super::webserver::serve(
            listener,
            pool.clone(),
            schedule,
            settings.webserver.cookie_secure,
            settings.api_auth.clone(),
            stopped(),
        ))
    });
    let mut worker_task = tokio::spawn(updraft_worker::run::run(
        worker_pool.clone(),
        worker_opts,
        stopped(),
    ));
    // The worker is the one component that can end on its own (it could not
    // register, or was marked stopped): then everything stops, not only it.
    let worker_done = tokio::select! {
        () = shutdown => {
            println!("Stopping: running task instances finish first.");
            let _ = stop_tx.send(true);
            worker_task.await
        }
        done = &mut worker_task => {
            eprintln!("The worker stopped on its own; stopping the other components.");
            let _ = stop_tx.send(true);
            done
        }
    };
    let (processor_done, scheduler_done) = tokio::join!(processor_task, scheduler_task);
    if let Some(web) = web_task
        && let Err(e) = web.await.context("the webserver panicked")?
    {
        eprintln!("The webserver stopped with an error: {e:#}");
    }
    processor_done.context("the DAG processor panicked")?;
    scheduler_done.context("the scheduler panicked")?;
    let report = worker_done.context("the worker panicked")??;
    println!("Stopped ({} task instances ran).", report.tries_run);
    if let Some(broker) = broker {
        broker.stop().await?;
        println!("Embedded Kafka broker stopped.");
    }
    worker_pool.close().await;
    scheduler_pool.close().await;
    pool.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Airflow's standalone: on the first start (no user at all) an `admin`
/// with a generated password, printed once.
async fn create_admin_if_no_user(pool: &PgPool) -> anyhow::Result<()> {
    use updraft_core::store::users::{self, CreateOutcome, NewUser};
    let mut conn = pool.acquire().await?;
    if users::any(&mut conn).await? {
        return Ok(());
    }
    let password: String = updraft_webserver::random_token().chars().take(16).collect();
    let plain = password.clone();
    let hash = tokio::task::spawn_blocking(move || updraft_webserver::hash_password(&plain))
        .await?
        .map_err(anyhow::Error::msg)?;
    let created = users::create(
        &mut conn,
        &NewUser {
            username: "admin",
            password_hash: &hash,
            role: "Admin",
            email: None,
            first_name: "",
            last_name: "",
        },
    )
    .await?;
    // Another process may have created it meanwhile: then it printed it.
    if let CreateOutcome::Created(_) = created {
        println!("Admin user: admin, password: {password}");
    }
    Ok(())
}

/// The worker's pool: a connection per slot plus room for heartbeats and
/// log writes, at least the configured size.
fn worker_connections(settings: &Settings) -> u32 {
    let slots = u32::try_from(settings.worker.concurrency).unwrap_or(u32::MAX);
    settings
        .database
        .max_connections
        .max(slots.saturating_add(4))
}

async fn print_loaded(settings: &Settings, pool: &PgPool, elapsed: f64) -> anyhow::Result<()> {
    let dags = updraft_core::store::dags::list(pool).await?;
    let errors = updraft_core::store::import_errors::list(pool).await?;
    println!(
        "Updraft standalone: {} DAGs loaded from {} ({} import errors) in {elapsed:.2} s.",
        dags.len(),
        settings.core.dags_folder.display(),
        errors.len(),
    );
    for w in updraft_core::store::dags::all_warnings(pool).await? {
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
    Ok(())
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
