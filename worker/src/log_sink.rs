//! Where a running task's output goes, one line at a time, while the task runs.
//!
//! Operators write each output line to a [`LogSink`] as it arrives, so the task
//! log is readable before the task ends (issue #3: "Task output streams to the
//! task log, readable while the task runs"). The database-backed sink lives with
//! the worker's store code; this module owns only the trait, a [`Filtered`]
//! wrapper (where secret masking plugs in) and the in-memory [`MemorySink`] used
//! by tests. It must not depend on the database.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

/// Receives a task's output line by line, in order, while the task runs.
///
/// Implementors can write `async fn line(&self, line: &str)`; the trait spells
/// the future out so that it is `Send` and a run can be spawned on the runtime.
/// A sink handles its own failures (buffering, retrying, logging them): losing
/// a log line must not fail the task.
pub trait LogSink: Send + Sync {
    /// Appends one line, without its line terminator.
    fn line(&self, line: &str) -> impl Future<Output = ()> + Send;
}

impl<S: LogSink> LogSink for Arc<S> {
    fn line(&self, line: &str) -> impl Future<Output = ()> + Send {
        S::line(self, line)
    }
}

impl<S: LogSink> LogSink for &S {
    fn line(&self, line: &str) -> impl Future<Output = ()> + Send {
        S::line(self, line)
    }
}

/// A sink that passes every line through `filter` before `inner` sees it: the
/// place where secret masking plugs in. Only the log is filtered; an operator's
/// XCom value (for Bash, the last output line) stays as the command printed it,
/// as in Airflow.
pub struct Filtered<S, F> {
    inner: S,
    filter: F,
}

impl<S, F> Filtered<S, F>
where
    S: LogSink,
    F: Fn(&str) -> String + Send + Sync,
{
    pub fn new(inner: S, filter: F) -> Self {
        Self { inner, filter }
    }
}

impl<S: fmt::Debug, F> fmt::Debug for Filtered<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filtered")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, F> LogSink for Filtered<S, F>
where
    S: LogSink,
    F: Fn(&str) -> String + Send + Sync,
{
    fn line(&self, line: &str) -> impl Future<Output = ()> + Send {
        let filtered = (self.filter)(line);
        async move { self.inner.line(&filtered).await }
    }
}

/// Keeps every line in memory; for tests and `dags test`-style local runs.
#[derive(Debug, Default)]
pub struct MemorySink {
    lines: Mutex<Vec<String>>,
    changed: Notify,
}

impl MemorySink {
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the lines received so far.
    pub fn lines(&self) -> Vec<String> {
        self.guard().clone()
    }

    /// Waits until some received line satisfies `pred`, or `within` passes.
    /// Returns whether such a line arrived.
    pub async fn wait_for_line(&self, pred: impl Fn(&str) -> bool, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Register interest before checking, so a line arriving in between
            // still wakes us.
            changed.as_mut().enable();
            if self.guard().iter().any(|l| pred(l)) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return false;
            }
        }
    }

    fn guard(&self) -> MutexGuard<'_, Vec<String>> {
        // A panic while holding this lock cannot leave the Vec half-written.
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl LogSink for MemorySink {
    async fn line(&self, line: &str) {
        self.guard().push(line.to_owned());
        self.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The masking hook sees every line before the underlying sink does.
    #[tokio::test]
    async fn filtered_sink_rewrites_lines() {
        let memory = MemorySink::new();
        let sink = Filtered::new(&memory, |l: &str| l.replace("hunter2", "***"));
        sink.line("password=hunter2").await;
        assert_eq!(memory.lines(), vec!["password=***".to_owned()]);
    }

    // A waiter is woken by a line pushed after it started waiting.
    #[tokio::test]
    async fn wait_for_line_sees_later_lines() {
        let memory = Arc::new(MemorySink::new());
        let writer = Arc::clone(&memory);
        let push = tokio::spawn(async move { writer.line("ready").await });
        assert!(
            memory
                .wait_for_line(|l| l == "ready", Duration::from_secs(5))
                .await
        );
        assert!(push.await.is_ok());
        assert!(
            !memory
                .wait_for_line(|l| l == "never", Duration::from_millis(20))
                .await
        );
    }
}
