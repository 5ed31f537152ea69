//! The process's telemetry, set up once in `main` from the settings
//! (`core::config::TelemetrySettings`): logs (text, or JSON with
//! `--log-format json` / `[logging] format = "json"`; `RUST_LOG` overrides
//! the level), the Prometheus recorder behind `/metrics` (long-running
//! commands only), and, when an OTLP endpoint is configured
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`), an OTLP/HTTP (protobuf) exporter of the
//! spans `core::observe::trace` emits, as service `updraft`.

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};
use updraft_core::observe::trace::fixed_ids;

/// How process logs are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields, spans).
    Json,
}

#[derive(Debug, Clone)]
pub struct TelemetryOptions {
    pub verbose: bool,
    pub log_format: LogFormat,
    /// The OTLP base URL (`http://host:4318`); spans go to `<it>/v1/traces`.
    pub otlp_endpoint: Option<String>,
    /// Install the Prometheus recorder (long-running commands).
    pub metrics: bool,
}

/// Keeps the trace exporter alive; dropping it flushes the spans not sent yet.
#[derive(Debug)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("warning: flushing traces failed: {e}");
        }
    }
}

/// Sets up logs, metrics and traces. Failures are reported and leave that
/// part off: telemetry never stops a component from running.
pub fn init(opts: &TelemetryOptions) -> Telemetry {
    let default = if opts.verbose { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let format = match opts.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(format)
        .try_init();
    if opts.metrics
        && let Err(e) = updraft_webserver::install_prometheus()
    {
        tracing::warn!(error = %e, "metrics are off");
    }
    let traces = opts
        .otlp_endpoint
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .and_then(|endpoint| match otlp_provider(endpoint) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %e, endpoint, "traces are off");
                None
            }
        });
    if let Some(provider) = &traces {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    Telemetry { traces }
}

/// A batching OTLP/HTTP exporter to `endpoint` (as the spec says for
/// `OTEL_EXPORTER_OTLP_ENDPOINT`, `/v1/traces` is appended).
fn otlp_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_id_generator(RunIds::default())
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("updraft").build())
        .build())
}

/// Random ids, except for a DAG run's root span, whose ids are derived from
/// the run (`core::observe::trace::fixed_ids`) so that tries started in other
/// processes point at it.
#[derive(Debug, Default)]
struct RunIds(RandomIdGenerator);

impl IdGenerator for RunIds {
    fn new_trace_id(&self) -> TraceId {
        fixed_ids().map_or_else(|| self.0.new_trace_id(), |(trace, _)| trace)
    }

    fn new_span_id(&self) -> SpanId {
        fixed_ids().map_or_else(|| self.0.new_span_id(), |(_, span)| span)
    }
}
