//! A [`LogSink`] that writes a try's log to `task_log` in batches: lines are
//! queued without waiting for the database and a writer task flushes them at
//! least every [`FLUSH_EVERY`], so the log is readable while the task runs.

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use updraft_core::store::task_logs;
use uuid::Uuid;

use crate::log_sink::LogSink;

/// The longest a line waits before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// A batch this large is written at once.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Lines of one try, on their way to `task_log`.
#[derive(Debug)]
pub struct DbLogSink {
    tx: mpsc::UnboundedSender<String>,
}

/// The writer task; [`LogWriter::close`] flushes what is left.
#[derive(Debug)]
pub struct LogWriter {
    handle: JoinHandle<()>,
}

impl DbLogSink {
    /// A sink for try `try_number` of `ti_id`, and its writer task.
    pub fn start(pool: PgPool, ti_id: Uuid, try_number: i32) -> (Self, LogWriter) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = tokio::spawn(write_loop(pool, ti_id, try_number, rx));
        (Self { tx }, LogWriter { handle })
    }

    /// A line from the worker itself, in Airflow's shape:
    /// `[2026-01-01T00:00:00.000+0000] {worker} INFO - text`.
    pub fn info(&self, text: &str) {
        self.send(format!("{} {{worker}} INFO - {text}", stamp()));
    }

    pub fn error(&self, text: &str) {
        self.send(format!("{} {{worker}} ERROR - {text}", stamp()));
    }

    fn send(&self, line: String) {
        // The writer only stops after every sender is gone.
        let _ = self.tx.send(line);
    }
}

impl LogWriter {
    /// Waits for the last lines to be written (every sink must be dropped).
    pub async fn close(self) {
        if let Err(e) = self.handle.await {
            tracing::warn!(error = %e, "task log writer ended abnormally");
        }
    }
}

fn stamp() -> String {
    format!("[{}]", Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f%z"))
}

impl LogSink for DbLogSink {
    async fn line(&self, line: &str) {
        self.send(format!("{} {{subprocess}} INFO - {line}", stamp()));
    }
}

async fn write_loop(
    pool: PgPool,
    ti_id: Uuid,
    try_number: i32,
    mut rx: mpsc::UnboundedReceiver<String>,
) {
    // A resumed try (deferred, rescheduled) keeps its try number: go on
    // after its earlier chunks (same seq would be dropped as a duplicate).
    let mut seq: i32 = match pool.acquire().await {
        Ok(mut conn) => task_logs::next_seq(&mut conn, ti_id, try_number)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, %ti_id, "reading the task log's last chunk failed");
                0
            }),
        Err(e) => {
            tracing::warn!(error = %e, %ti_id, "reading the task log's last chunk failed");
            0
        }
    };
    let mut open = true;
    while open {
        let mut batch = String::new();
        // Wait for a first line, then collect for up to FLUSH_EVERY.
        match rx.recv().await {
            Some(line) => push(&mut batch, &line),
            None => break,
        }
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while batch.len() < MAX_BATCH_BYTES {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(line)) => push(&mut batch, &line),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        write(&pool, ti_id, try_number, seq, &batch).await;
        seq += 1;
    }
}

fn push(batch: &mut String, line: &str) {
    batch.push_str(line);
    batch.push('\n');
}

/// Writes one chunk, retrying briefly: losing log lines must not fail the task.
async fn write(pool: &PgPool, ti_id: Uuid, try_number: i32, seq: i32, chunk: &str) {
    for attempt in 0..3u32 {
        let result = async {
            let mut conn = pool.acquire().await?;
            task_logs::append(&mut conn, ti_id, try_number, seq, chunk).await
        }
        .await;
        match result {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, %ti_id, attempt, "writing task log failed");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt + 1))).await;
            }
        }
    }
}
