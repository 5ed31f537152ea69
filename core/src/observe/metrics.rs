//! Airflow's metric names, mapped once to Prometheus: Airflow's dotted name
//! with its `<dag_id>`/`<task_id>`/`<state>`/`<pool>` parts turned into
//! labels (as Airflow's own tagged variants carry them), `airflow_` in front
//! and dots as underscores: `dagrun.duration.success.<dag_id>` is
//! `airflow_dagrun_duration_success{dag_id="…"}`. docs/observability.md lists
//! them all. Durations are in seconds.

use metrics::{counter, gauge, histogram};

/// `scheduler_heartbeat`: one per scheduler loop pass.
pub fn scheduler_heartbeat() {
    counter!("airflow_scheduler_heartbeat").increment(1);
}

/// `dagrun.duration.<success|failed>.<dag_id>`: a run ended after `secs`.
pub fn dagrun_finished(dag_id: &str, state: &str, secs: f64) {
    let name = match state {
        "success" => "airflow_dagrun_duration_success",
        _ => "airflow_dagrun_duration_failed",
    };
    histogram!(name, "dag_id" => dag_id.to_owned()).record(secs.max(0.0));
}

/// `ti.finish.<dag_id>.<task_id>.<state>`, and `ti_successes` /
/// `ti_failures`: a try ended in `state`.
pub fn ti_finished(dag_id: &str, task_id: &str, state: &str) {
    counter!("airflow_ti_finish", "dag_id" => dag_id.to_owned(),
        "task_id" => task_id.to_owned(), "state" => state.to_owned())
    .increment(1);
    match state {
        "success" => counter!("airflow_ti_successes").increment(1),
        "failed" => counter!("airflow_ti_failures").increment(1),
        _ => {}
    }
}

/// `ti.start.<dag_id>.<task_id>`: a worker started a try.
pub fn ti_started(dag_id: &str, task_id: &str) {
    counter!("airflow_ti_start", "dag_id" => dag_id.to_owned(),
        "task_id" => task_id.to_owned())
    .increment(1);
}

/// One pool's slots at the end of a scheduler pass.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PoolSlots {
    pub pool: String,
    /// `None`: an unlimited pool (`slots = -1`) has no open-slot figure.
    pub open: Option<i64>,
    pub queued: i64,
    pub running: i64,
}

/// `pool.open_slots.<pool>`, `pool.queued_slots.<pool>`,
/// `pool.running_slots.<pool>`, and the executor's `executor.queued_tasks` /
/// `executor.running_tasks` (task instances queued or running, any pool).
pub fn pool_slots(pools: &[PoolSlots], queued_tasks: i64, running_tasks: i64) {
    for p in pools {
        let label = p.pool.clone();
        if let Some(open) = p.open {
            gauge!("airflow_pool_open_slots", "pool" => label.clone()).set(open as f64);
        }
        gauge!("airflow_pool_queued_slots", "pool" => label.clone()).set(p.queued as f64);
        gauge!("airflow_pool_running_slots", "pool" => label).set(p.running as f64);
    }
    gauge!("airflow_executor_queued_tasks").set(queued_tasks as f64);
    gauge!("airflow_executor_running_tasks").set(running_tasks as f64);
}

/// `dag_processing.total_parse_time`: seconds the last refresh of the dags
/// folder took (scan, parse what changed, store).
pub fn dag_processing_total_parse_time(secs: f64) {
    gauge!("airflow_dag_processing_total_parse_time").set(secs);
}
