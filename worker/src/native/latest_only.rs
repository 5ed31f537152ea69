//! LatestOnlyOperator: a run that is not the latest scheduled one skips
//! every direct downstream task. Manual runs always proceed (2.x:
//! `external_trigger`; 3.x: run type manual). Otherwise the run is the
//! latest when now is inside a window `(left, right]` the timetable gives
//! around this run's interval, per dialect:
//!
//! - 2.x (`airflow/operators/latest_only.py`): the next interval after this
//!   run's. For point intervals (trigger timetables) that window is empty, so
//!   2.10 skips every run; here it goes from this run's date to the next
//!   run's instead.
//! - 3.x (standard provider): from the end of an overlapping earlier
//!   interval (else this run's start) to the end of the next interval.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value as Json;
use updraft_core::model::serialized::SerializedDag;
use updraft_core::timetable::{DagSchedule, DataInterval, RunInfo, TimeRestriction};

use super::branch_time::follow;
use super::{SCHEDULE_DEFAULTS, fail, this_run};
use crate::dispatch::TryCtx;
use crate::outcome::Outcome;
use crate::templates::Dialect;

type Window = (DateTime<Utc>, DateTime<Utc>);

/// 2.x: the next interval (`None`: no next run, so it is the last one).
pub fn window_v2(current: DataInterval, next: Option<RunInfo>) -> Option<Window> {
    let next = next?;
    let (left, right) = (next.data_interval.start, next.data_interval.end);
    if left == right {
        Some((current.end, next.run_after.max(right)))
    } else {
        Some((left, right))
    }
}

/// 3.x: `prev` is the timetable's answer bounded to end before this run's
/// end, `next` the one starting from it.
pub fn window_v3(
    current: DataInterval,
    prev: Option<RunInfo>,
    next: Option<RunInfo>,
) -> Option<Window> {
    let left = prev.map_or(current.start, |p| p.data_interval.end);
    next.map(|n| (left, n.data_interval.end))
}

fn window(schedule: &DagSchedule, dialect: Dialect, current: DataInterval) -> Option<Window> {
    let tt = &schedule.timetable;
    let now = Utc::now();
    match dialect {
        Dialect::V2 => {
            let any = TimeRestriction {
                earliest: None,
                latest: None,
                catchup: true,
            };
            window_v2(current, tt.next_dagrun_info(Some(&current), &any, now))
        }
        Dialect::V3 => {
            let before = TimeRestriction {
                earliest: None,
                latest: Some(current.end - TimeDelta::microseconds(1)),
                catchup: true,
            };
            let after = TimeRestriction {
                earliest: Some(current.end),
                latest: None,
                catchup: true,
            };
            window_v3(
                current,
                tt.next_dagrun_info(Some(&current), &before, now),
                tt.next_dagrun_info(Some(&current), &after, now),
            )
        }
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
    let schedule = <SerializedDag as serde::Deserialize>::deserialize(&*cx.task.dag)
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
    let Some((left, right)) = window(&schedule, cx.prepared.inputs.dialect, current) else {
        cx.sink
            .info("Last scheduled execution: allowing execution to proceed.");
        return follow(cx, direct_downstream(cx));
    };
    let now = Utc::now();
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

    fn info(start: &str, end: &str) -> RunInfo {
        RunInfo {
            logical_date: at(start),
            data_interval: DataInterval {
                start: at(start),
                end: at(end),
            },
            run_after: at(end),
        }
    }

    // 2.x: the next interval; point intervals: from this run to the next;
    // no next run: no window.
    #[test]
    fn windows_v2() {
        let cur = info("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z").data_interval;
        let next = info("2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z");
        assert_eq!(
            window_v2(cur, Some(next)),
            Some((at("2026-01-02T00:00:00Z"), at("2026-01-03T00:00:00Z")))
        );
        let point = DataInterval::exact(at("2026-01-02T00:00:00Z"));
        let next_point = info("2026-01-03T00:00:00Z", "2026-01-03T00:00:00Z");
        assert_eq!(
            window_v2(point, Some(next_point)),
            Some((at("2026-01-02T00:00:00Z"), at("2026-01-03T00:00:00Z")))
        );
        assert_eq!(window_v2(cur, None), None);
    }

    // 3.x: from this run's start (or an overlapping interval's end) to the
    // next interval's end.
    #[test]
    fn windows_v3() {
        let cur = info("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z").data_interval;
        let next = info("2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z");
        assert_eq!(
            window_v3(cur, None, Some(next)),
            Some((at("2026-01-01T00:00:00Z"), at("2026-01-03T00:00:00Z")))
        );
        let overlap = info("2025-12-31T12:00:00Z", "2026-01-01T12:00:00Z");
        assert_eq!(
            window_v3(cur, Some(overlap), Some(next)),
            Some((at("2026-01-01T12:00:00Z"), at("2026-01-03T00:00:00Z")))
        );
        assert_eq!(window_v3(cur, None, None), None);
    }
}
