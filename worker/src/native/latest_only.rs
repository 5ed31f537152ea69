//! LatestOnlyOperator: a run that is not the latest scheduled one skips
//! every direct downstream task. Manual runs always proceed (2.x:
//! `external_trigger`; 3.x: run type manual). Otherwise the run is the latest
//! when now is inside the *next* interval `(start, end]` that the timetable
//! gives after this run's, as in Airflow's `choose_branch`; for timetables
//! whose intervals are points (trigger timetables) the window is from this
//! run's date to the next run's.

use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use updraft_core::model::serialized::SerializedDag;
use updraft_core::timetable::{DagSchedule, DataInterval, RunInfo, TimeRestriction};

use super::branch_time::follow;
use super::{SCHEDULE_DEFAULTS, fail, this_run};
use crate::dispatch::TryCtx;
use crate::outcome::Outcome;

/// The window in which a run with `current` interval is the latest, from
/// the next run's info (`None`: no next run, so it is the last one).
pub fn latest_window(
    current: DataInterval,
    next: Option<RunInfo>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let next = next?;
    let (left, right) = (next.data_interval.start, next.data_interval.end);
    if left == right {
        Some((current.end, next.run_after.max(right)))
    } else {
        Some((left, right))
    }
}

fn direct_downstream(cx: &TryCtx<'_>) -> Json {
    cx.task
        .task
        .get("downstream_task_ids")
        .cloned()
        .unwrap_or_else(|| Json::Array(Vec::new()))
}

/// `latest_only`.
pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    let run = match this_run(cx).await {
        Ok(r) => r,
        Err(e) => return fail(cx, &e),
    };
    if run.run_type == "manual" {
        cx.sink
            .info("Externally triggered DAG_Run: allowing execution to proceed.");
        return follow(cx, direct_downstream(cx));
    }
    let schedule = serde_json::from_value::<SerializedDag>(cx.task.dag.clone())
        .map_err(|e| e.to_string())
        .and_then(|d| DagSchedule::from_dag(&d, &SCHEDULE_DEFAULTS).map_err(|e| e.to_string()));
    let schedule = match schedule {
        Ok(s) => s,
        Err(e) => return fail(cx, &format!("reading the DAG's schedule: {e}")),
    };
    let at = run.logical_date.unwrap_or(run.run_after);
    let current = DataInterval {
        start: run.data_interval_start.unwrap_or(at),
        end: run.data_interval_end.unwrap_or(at),
    };
    let unrestricted = TimeRestriction {
        earliest: None,
        latest: None,
        catchup: true,
    };
    let now = Utc::now();
    let next = schedule
        .timetable
        .next_dagrun_info(Some(&current), &unrestricted, now);
    let Some((left, right)) = latest_window(current, next) else {
        cx.sink
            .info("Last scheduled execution: allowing execution to proceed.");
        return follow(cx, direct_downstream(cx));
    };
    cx.sink.info(&format!(
        "Checking latest only with left_window: {left} right_window: {right} now: {now}"
    ));
    if left < now && now <= right {
        cx.sink.info("Latest, allowing execution to proceed.");
        follow(cx, direct_downstream(cx))
    } else {
        cx.sink.info("Not latest execution, skipping downstream.");
        follow(cx, Json::Array(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("datetime").to_utc()
    }

    // Data intervals: the next interval is the window; point intervals:
    // from this run to the next; no next run: no window.
    #[test]
    fn windows() {
        let cur = DataInterval {
            start: at("2026-01-01T00:00:00Z"),
            end: at("2026-01-02T00:00:00Z"),
        };
        let next = RunInfo {
            logical_date: at("2026-01-02T00:00:00Z"),
            data_interval: DataInterval {
                start: at("2026-01-02T00:00:00Z"),
                end: at("2026-01-03T00:00:00Z"),
            },
            run_after: at("2026-01-03T00:00:00Z"),
        };
        assert_eq!(
            latest_window(cur, Some(next)),
            Some((at("2026-01-02T00:00:00Z"), at("2026-01-03T00:00:00Z")))
        );
        let point = DataInterval::exact(at("2026-01-02T00:00:00Z"));
        let next_point = RunInfo {
            logical_date: at("2026-01-03T00:00:00Z"),
            data_interval: DataInterval::exact(at("2026-01-03T00:00:00Z")),
            run_after: at("2026-01-03T00:00:00Z"),
        };
        assert_eq!(
            latest_window(point, Some(next_point)),
            Some((at("2026-01-02T00:00:00Z"), at("2026-01-03T00:00:00Z")))
        );
        assert_eq!(latest_window(cur, None), None);
    }
}
