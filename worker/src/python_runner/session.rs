//! TEMPORARY stand-in (the real one comes from the wt-session branch).
use serde_json::Value as Json;
use tokio::sync::Notify;

use super::{TaskRequest, TaskResult};
use crate::log_sink::LogSink;
use crate::templates::SecretSet;

#[derive(Debug)]
pub enum SessionEvent {
    Data(Json),
    Ended(TaskResult),
}

#[derive(Debug)]
pub struct Session<'a, S: LogSink> {
    _s: &'a S,
}

impl<'a, S: LogSink> Session<'a, S> {
    pub async fn open(_r: &TaskRequest, s: &'a S, _x: &'a [SecretSet]) -> Result<Self, String> {
        Ok(Self { _s: s })
    }
    pub async fn send(&self, _d: &Json) -> Result<(), String> {
        Err("todo".into())
    }
    pub async fn recv(&mut self, _l: &Notify) -> SessionEvent {
        SessionEvent::Ended(TaskResult::failed("todo"))
    }
    pub async fn finish(self, _l: &Notify) -> TaskResult {
        TaskResult::failed("todo")
    }
}
