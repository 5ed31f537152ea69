//! Wake-ups between components over PostgreSQL `NOTIFY`/`LISTEN`: a
//! notification is sent inside the transaction that makes the change, so it
//! arrives on commit; loops wait on them with polling as the fallback, so a
//! lost notification (or a dropped listener) only costs one poll interval.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};

use crate::Result;

/// Task instances were queued: workers should claim.
pub const TI_QUEUED: &str = "updraft_ti_queued";
/// A try finished: the scheduler should evaluate its downstream tasks.
pub const TI_FINISHED: &str = "updraft_ti_finished";
/// A DAG run was created (e.g. a manual trigger): the scheduler should start it.
pub const RUN_QUEUED: &str = "updraft_run_queued";

/// Sends `channel` when the current transaction commits.
pub async fn notify(conn: &mut PgConnection, channel: &str) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(conn)
        .await?;
    Ok(())
}

/// Waits for any of some channels, or a timeout. Its listener holds one
/// connection of the pool: drop it before `PgPool::close`, which waits for
/// every connection to come back.
#[derive(Debug)]
pub struct Wakeups {
    pool: PgPool,
    channels: Vec<&'static str>,
    listener: Option<PgListener>,
}

impl Wakeups {
    pub fn new(pool: PgPool, channels: &[&'static str]) -> Self {
        Self {
            pool,
            channels: channels.to_vec(),
            listener: None,
        }
    }

    /// Returns when a notification arrives or `at_most` has passed. Without
    /// a listener (not yet connected, or the database restarting) it sleeps
    /// and tries to listen again next time.
    pub async fn wait(&mut self, at_most: Duration) {
        if self.listener.is_none() {
            self.listener = self.listen().await;
        }
        let Some(listener) = self.listener.as_mut() else {
            tokio::time::sleep(at_most).await;
            return;
        };
        match tokio::time::timeout(at_most, listener.recv()).await {
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "lost the notification listener; polling");
                self.listener = None;
            }
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = PgListener::connect_with(&self.pool).await.ok()?;
        listener
            .listen_all(self.channels.iter().copied())
            .await
            .ok()?;
        Some(listener)
    }
}
