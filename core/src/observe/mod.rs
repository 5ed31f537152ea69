//! What the components report about themselves: Airflow-named metrics
//! through the `metrics` facade ([`metrics`]) and OpenTelemetry spans through
//! the global tracer ([`trace`]). Both cost next to nothing until the process
//! installs an exporter (`updraft` binary, `telemetry::init`); nothing here
//! knows which exporter that is.

pub mod heartbeat;
pub mod metrics;
pub mod trace;
