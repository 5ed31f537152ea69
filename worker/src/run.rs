//! The worker loop: register, then claim queued task instances into free
//! slots (polling; LISTEN/NOTIFY wake-ups are later work), run each as its
//! own tokio task, and stop gracefully: on shutdown claim nothing more, let
//! running tries finish, and mark the worker stopped.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio::time::Instant;
use updraft_core::store::{events, ti_state, workers};
use uuid::Uuid;

use crate::native::hitl_notify::NotifySettings;
use crate::task::{self, TaskEnv};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Queues to take task instances from; empty: every queue.
    pub queues: Vec<String>,
    /// Tries run at once.
    pub concurrency: usize,
    /// Claim what is queued now, run it to completion, then exit.
    pub once: bool,
    /// How long a claim lasts without a heartbeat (heartbeats every third).
    pub lease: Duration,
    /// Time between claim attempts while idle.
    pub poll: Duration,
    /// Where HITL requests and answers are announced (`[hitl]`).
    pub hitl: NotifySettings,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            queues: vec!["default".to_owned()],
            concurrency: 16,
            once: false,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(500),
            hitl: NotifySettings::default(),
        }
    }
}

/// What a worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerReport {
    pub worker_id: Uuid,
    pub tries_run: usize,
}

const WORKER_HEARTBEAT: Duration = Duration::from_secs(5);

/// Runs a worker until `shutdown` resolves (or, with `once`, until nothing
/// is left queued and every claimed try has ended).
pub async fn run(
    pool: PgPool,
    opts: WorkerOptions,
    shutdown: impl Future<Output = ()>,
) -> updraft_core::Result<WorkerReport> {
    let worker_id = Uuid::new_v4();
    let concurrency = opts.concurrency.max(1);
    let new = workers::NewWorker {
        id: worker_id,
        hostname: updraft_core::observe::hostname(),
        pid: i32::try_from(std::process::id()).unwrap_or(0),
        queues: opts.queues.clone(),
        concurrency: i32::try_from(concurrency).unwrap_or(i32::MAX),
    };
    workers::register(&mut *pool.acquire().await?, &new).await?;
    tracing::info!(%worker_id, concurrency, queues = ?opts.queues, "worker started");
    let env = TaskEnv {
        pool: pool.clone(),
        worker_id,
        lease: opts.lease,
        hitl: std::sync::Arc::new(opts.hitl.clone()),
    };
    let mut running: JoinSet<()> = JoinSet::new();
    let mut tries_run = 0usize;
    let mut stopping = false;
    let mut last_beat = Instant::now();
    let mut wakeups = events::Wakeups::new(pool.clone(), &[events::TI_QUEUED]);
    // Claims failing (the database restarting) are logged once per outage.
    let mut claims_failing = false;
    tokio::pin!(shutdown);
    loop {
        let free = concurrency.saturating_sub(running.len());
        if !stopping && free > 0 {
            match claim(&pool, worker_id, &opts, free).await {
                Ok(tis) => {
                    if claims_failing {
                        tracing::info!("claiming works again");
                        claims_failing = false;
                    }
                    // `once`: nothing more is queued for us now.
                    if opts.once && tis.len() < free {
                        stopping = true;
                    }
                    for ti in tis {
                        tries_run += 1;
                        running.spawn(task::execute(env.clone(), ti));
                    }
                }
                Err(updraft_core::Error::NotFound(what)) => {
                    tracing::warn!(%what, "this worker is no longer running; stopping");
                    stopping = true;
                }
                // The database may be restarting: try again next round.
                Err(e) if !claims_failing => {
                    claims_failing = true;
                    tracing::warn!(error = %e, "claiming failed; retrying every round");
                }
                Err(e) => tracing::debug!(error = %e, "claiming failed again"),
            }
        }
        if stopping && running.is_empty() {
            break;
        }
        if last_beat.elapsed() >= WORKER_HEARTBEAT {
            last_beat = Instant::now();
            if let Err(e) = beat(&pool, worker_id).await {
                tracing::warn!(error = %e, "worker heartbeat failed");
            }
        }
        tokio::select! {
            () = &mut shutdown, if !stopping => {
                tracing::info!(running = running.len(), "stopping: finishing running tasks");
                stopping = true;
                if let Err(e) = mark_stopping(&pool, worker_id).await {
                    tracing::warn!(error = %e, "marking the worker stopping failed");
                }
            }
            Some(joined) = running.join_next(), if !running.is_empty() => {
                if let Err(e) = joined {
                    // Its try stays running until its lease is reaped.
                    tracing::error!(error = %e, "a task run panicked");
                }
            }
            // Queued tasks wake the worker at once; `poll` is the fallback.
            () = wakeups.wait(opts.poll) => {}
        }
    }
    drop(wakeups); // release the listener's pooled connection before the pool closes
    workers::mark_stopped(&mut *pool.acquire().await?, worker_id).await?;
    tracing::info!(%worker_id, tries_run, "worker stopped");
    Ok(WorkerReport {
        worker_id,
        tries_run,
    })
}

/// Whether `e` is the database being unreachable for a while (restarting,
/// a dropped connection) rather than a fault in the statement: worth
/// retrying the same statement once the database is back.
pub(crate) fn is_transient(e: &updraft_core::Error) -> bool {
    let updraft_core::Error::Database(e) = e else {
        return false;
    };
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut => true,
        // SQLSTATE class 08 (connection exception) and 57P (the server
        // shutting down or starting up).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

async fn claim(
    pool: &PgPool,
    worker_id: Uuid,
    opts: &WorkerOptions,
    free: usize,
) -> updraft_core::Result<Vec<ti_state::TiRow>> {
    let mut conn = pool.acquire().await?;
    let limit = i64::try_from(free).unwrap_or(i64::MAX);
    ti_state::claim(&mut conn, worker_id, &opts.queues, limit, opts.lease).await
}

async fn beat(pool: &PgPool, worker_id: Uuid) -> updraft_core::Result<bool> {
    workers::heartbeat(&mut *pool.acquire().await?, worker_id).await
}

async fn mark_stopping(pool: &PgPool, worker_id: Uuid) -> updraft_core::Result<bool> {
    workers::mark_stopping(&mut *pool.acquire().await?, worker_id).await
}
