//! A job held open while it runs: the worker feeds JSON documents to the
//! task's child and reads the ones it writes back, between its log lines.
//! Kafka tasks use it (the worker runs the Kafka client natively, the child
//! the user's `producer_function`, `apply_function`...; the child's side is
//! python/airflow_compat/updraft_runtime/task_runner_kafka.py). The request
//! must be of [`Mode::Kafka`]; the job ends with one [`TaskResult`], as a
//! [`super::run`] does, and dropping the session before that cancels it.

use serde_json::Value as Json;
use tokio::sync::Notify;

use super::{Job, Mode, Step, TaskRequest, TaskResult};
use crate::log_sink::LogSink;
use crate::templates::SecretSet;

/// What [`Session::recv`] returns.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// One JSON document the task wrote to its data pipe.
    Data(Json),
    /// The job's end (the task's child exited, was killed, or the runner died).
    Ended(TaskResult),
}

/// A running session job. Its log lines go to `sink`, masked with `secrets`
/// and with every secret the task reports reading, whenever it is read
/// ([`Session::recv`], [`Session::finish`]).
pub struct Session<'a, S: LogSink> {
    job: Job,
    sink: &'a S,
    secrets: &'a [SecretSet],
}

impl<S: LogSink> std::fmt::Debug for Session<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("id", &self.job.id).finish()
    }
}

impl<'a, S: LogSink> Session<'a, S> {
    /// Starts the job in the shared runner (started if needed).
    pub async fn open(
        request: &TaskRequest,
        sink: &'a S,
        secrets: &'a [SecretSet],
    ) -> Result<Self, String> {
        if request.mode != Mode::Kafka {
            return Err(format!(
                "a task runner session needs mode kafka, not {:?}",
                request.mode
            ));
        }
        let job = Job::start(request).await?;
        Ok(Self { job, sink, secrets })
    }

    /// Sends one JSON document to the task (one line of its input). Once the
    /// job has ended the runner ignores it; an error means the runner is gone.
    pub async fn send(&self, data: &Json) -> Result<(), String> {
        self.job.feed(data).await
    }

    /// The task's next data document, or the job's end (again on every call
    /// after it). While waiting, log lines go to the sink. When `lost` is
    /// notified (it consumes a `notify_one` permit) the job is cancelled: its
    /// failed result follows, data written before that may come first.
    ///
    /// Safe to use in a `select!`: a data document or the end is never lost
    /// when the future is dropped (only a log line being written to the sink
    /// at that moment could be).
    pub async fn recv(&mut self, lost: &Notify) -> SessionEvent {
        match self.job.next(lost, self.sink, self.secrets).await {
            Step::Data(d) => SessionEvent::Data(d),
            Step::Done(result) => SessionEvent::Ended(result),
        }
    }

    /// Waits for the job's result (after the task was told to end, say with
    /// `{"end": true}`), discarding data documents that still arrive.
    pub async fn finish(mut self, lost: &Notify) -> TaskResult {
        loop {
            if let SessionEvent::Ended(result) = self.recv(lost).await {
                return result;
            }
        }
    }

    /// Cancels the job (as a lost lease does) and waits for its result.
    pub async fn cancel(mut self) -> TaskResult {
        self.job.cancel().await;
        self.finish(&Notify::new()).await
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
