//! Traces: a DAG run is one trace, each task try a span in it, the try's
//! phases (preparing, running the operator) child spans of that.
//!
//! The scheduler and the workers may be different processes and pass no
//! context to each other, so the ids are derived: the trace id and the run's
//! root span id are a hash of the run's identity `(dag_id, run_id)`. A
//! worker's try span names that root span as its (remote) parent; the
//! scheduler emits the root span itself, with the run's real start and end,
//! when the run finishes. Until a tracer provider is installed the global
//! tracer is a no-op.

use std::cell::Cell;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use opentelemetry::trace::{
    Span, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    Tracer,
};
use opentelemetry::{Context, KeyValue, global};
use sha2::{Digest, Sha256};

/// The instrumentation scope of every Updraft span.
const SCOPE: &str = "updraft";

thread_local! {
    static FIXED_IDS: Cell<Option<(TraceId, SpanId)>> = const { Cell::new(None) };
}

/// The trace and span id the root span being built on this thread must
/// take (a run's derived ids), `None` for any other span: read by the
/// tracer provider's id generator.
pub fn fixed_ids() -> Option<(TraceId, SpanId)> {
    FIXED_IDS.with(Cell::get)
}

/// The trace id of a DAG run and the span id of its root span.
pub fn run_ids(dag_id: &str, run_id: &str) -> (TraceId, SpanId) {
    let mut h = Sha256::new();
    h.update(b"updraft dag_run\0");
    h.update(dag_id.as_bytes());
    h.update(b"\0");
    h.update(run_id.as_bytes());
    let d = h.finalize();
    let mut trace = [0u8; 16];
    let mut span = [0u8; 8];
    trace.copy_from_slice(&d[..16]);
    span.copy_from_slice(&d[16..24]);
    // All-zero ids are invalid in OpenTelemetry; a hash makes them all but
    // impossible, and this keeps them impossible.
    trace[15] |= 1;
    span[7] |= 1;
    (TraceId::from_bytes(trace), SpanId::from_bytes(span))
}

/// A finished DAG run, for its root span.
#[derive(Debug, Clone)]
pub struct FinishedRun<'a> {
    pub dag_id: &'a str,
    pub run_id: &'a str,
    pub state: &'a str,
    pub start: Option<DateTime<Utc>>,
    pub end: DateTime<Utc>,
}

/// Emits the run's root span (`dag_run <dag_id>`), from its start to its end.
pub fn run_finished(run: &FinishedRun<'_>) {
    let (trace_id, span_id) = run_ids(run.dag_id, run.run_id);
    let tracer = global::tracer(SCOPE);
    let start: SystemTime = run.start.unwrap_or(run.end).into();
    let builder = tracer
        .span_builder(format!("dag_run {}", run.dag_id))
        .with_kind(SpanKind::Internal)
        .with_start_time(start)
        .with_attributes(vec![
            KeyValue::new("airflow.dag_id", run.dag_id.to_owned()),
            KeyValue::new("airflow.run_id", run.run_id.to_owned()),
            KeyValue::new("airflow.state", run.state.to_owned()),
        ]);
    // The API has no way to name a root span's ids: the id generator the
    // binary installs takes them from here while this span is built.
    FIXED_IDS.with(|f| f.set(Some((trace_id, span_id))));
    let mut span = tracer.build_with_context(builder, &Context::new());
    FIXED_IDS.with(|f| f.set(None));
    if run.state != "success" {
        span.set_status(Status::error(format!("run {}", run.state)));
    }
    span.end_with_timestamp(run.end.into());
}

/// Which try a span is for.
#[derive(Debug, Clone)]
pub struct TryIdentity<'a> {
    pub dag_id: &'a str,
    pub run_id: &'a str,
    pub task_id: &'a str,
    pub map_index: i32,
    pub try_number: i32,
    /// The operator's class name (`BashOperator`…), empty when unknown.
    pub operator: &'a str,
}

/// The span of one task try, open until [`TrySpan::end`] (or drop).
#[derive(Debug)]
pub struct TrySpan {
    cx: Context,
}

impl TrySpan {
    /// Starts the try's span, begun at `started`, as a child of its run's
    /// root span.
    pub fn start(t: &TryIdentity<'_>, started: SystemTime) -> Self {
        let (trace_id, root) = run_ids(t.dag_id, t.run_id);
        let parent = Context::new().with_remote_span_context(SpanContext::new(
            trace_id,
            root,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ));
        let tracer = global::tracer(SCOPE);
        let builder = tracer
            .span_builder(format!("task {}", t.task_id))
            .with_kind(SpanKind::Internal)
            .with_start_time(started)
            .with_attributes(vec![
                KeyValue::new("airflow.dag_id", t.dag_id.to_owned()),
                KeyValue::new("airflow.run_id", t.run_id.to_owned()),
                KeyValue::new("airflow.task_id", t.task_id.to_owned()),
                KeyValue::new("airflow.map_index", i64::from(t.map_index)),
                KeyValue::new("airflow.try_number", i64::from(t.try_number)),
                KeyValue::new("airflow.operator", t.operator.to_owned()),
            ]);
        let span = tracer.build_with_context(builder, &parent);
        Self {
            cx: parent.with_span(span),
        }
    }

    /// A child span (`prepare`, `execute`…), ended by [`Phase::end`] or drop.
    pub fn phase(&self, name: &'static str) -> Phase {
        let tracer = global::tracer(SCOPE);
        Phase(tracer.start_with_context(name, &self.cx))
    }

    /// A child span that began at `started` (a phase that ran before the
    /// try span could be named, such as loading the task).
    pub fn phase_since(&self, name: &'static str, started: SystemTime) -> Phase {
        let tracer = global::tracer(SCOPE);
        let builder = tracer.span_builder(name).with_start_time(started);
        Phase(tracer.build_with_context(builder, &self.cx))
    }

    /// Ends the try's span with its final state.
    pub fn end(self, state: &str) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("airflow.state", state.to_owned()));
        if state != "success" {
            span.set_status(Status::error(state.to_owned()));
        }
        span.end();
    }
}

/// One phase of a try.
#[allow(missing_debug_implementations)] // a boxed span
pub struct Phase(global::BoxedSpan);

impl Phase {
    /// Ends the phase; `error` marks it failed.
    pub fn end(mut self, error: Option<&str>) {
        if let Some(e) = error {
            self.0.set_status(Status::error(e.to_owned()));
        }
        self.0.end();
    }
}

#[cfg(test)]
mod tests {
    use super::run_ids;

    /// Scheduler and worker derive the same ids for a run, different runs
    /// different ones.
    #[test]
    fn run_ids_are_stable_per_run() {
        assert_eq!(run_ids("d", "r1"), run_ids("d", "r1"));
        assert_ne!(run_ids("d", "r1").0, run_ids("d", "r2").0);
        assert_ne!(run_ids("d", "r1").0, run_ids("dr", "1").0);
    }
}
