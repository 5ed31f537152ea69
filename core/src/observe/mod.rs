//! What the components report about themselves: Airflow-named metrics
//! through the `metrics` facade ([`metrics`]) and OpenTelemetry spans through
//! the global tracer ([`trace`]). Both cost next to nothing until the process
//! installs an exporter (`updraft` binary, `telemetry::init`); nothing here
//! knows which exporter that is.

pub mod heartbeat;
pub mod metrics;
pub mod trace;

/// The machine's name, as `hostname` prints it: what workers and jobs
/// record as where they run.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
