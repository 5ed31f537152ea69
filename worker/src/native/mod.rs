//! Airflow's standard operators that Updraft runs natively, without Python:
//! the time, file, bash and external-task sensors (driven by
//! [`crate::sensor::drive`]), TriggerDagRunOperator, LatestOnlyOperator and
//! the datetime/weekday branches. One module per operator family; this one
//! holds the readers of serialized and rendered fields they share.

pub mod bash_sensor;
pub mod branch_time;
pub mod external_task;
pub mod file_sensor;
pub mod hitl;
pub mod hitl_notify;
pub mod kafka;
pub mod latest_only;
pub mod time_sensors;
pub mod trigger_dagrun;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value as Json;
use updraft_core::store::dag_runs::{self, DagRunRow};
use updraft_core::timetable::{ScheduleDefaults, Zone};

use crate::dispatch::TryCtx;
use crate::outcome::Outcome;

/// The worker has no `[scheduler]` settings; Airflow's defaults stand in
/// where a native operator builds a timetable (LatestOnly's window, a
/// triggered run's data interval). They only decide a cron string's
/// timetable class.
pub const SCHEDULE_DEFAULTS: ScheduleDefaults = ScheduleDefaults {
    catchup_by_default: true,
    create_cron_data_intervals: true,
};

/// A field after rendering when it is a template field, else as serialized.
pub fn field<'a>(cx: &'a TryCtx<'_>, name: &str) -> Option<&'a Json> {
    cx.prepared
        .rendered
        .get(name)
        .or_else(|| cx.prepared.raw.get(name))
        .filter(|v| !v.is_null())
}

/// The value of a tagged encoding (`{"__type": T, "__var": V}`) of type `ty`.
fn tagged<'a>(v: &'a Json, ty: &str) -> Option<&'a Json> {
    let m = v.as_object()?;
    (m.get("__type")?.as_str()? == ty).then(|| m.get("__var"))?
}

/// A datetime: the tagged form, or a string as Airflow's `timezone.parse`
/// reads it (ISO 8601; without an offset it is UTC, the default timezone).
pub fn datetime_of(v: &Json) -> Result<DateTime<Utc>, String> {
    let text = tagged(v, "datetime")
        .or(Some(v))
        .and_then(Json::as_str)
        .ok_or_else(|| format!("expected a datetime, got {v}"))?;
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.to_utc());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return Ok(dt.to_utc());
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(n.and_utc());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map(|d| d.and_time(NaiveTime::MIN).and_utc())
        .map_err(|_| format!("{t:?} is not a datetime Updraft can read"))
}

/// A duration in seconds: a tagged timedelta or a number.
pub fn seconds_of(v: &Json) -> Result<f64, String> {
    tagged(v, "timedelta")
        .unwrap_or(v)
        .as_f64()
        .filter(|s| s.is_finite())
        .ok_or_else(|| format!("expected a timedelta, got {v}"))
}

/// A time of day (the tagged `time`, `"HH:MM:SS[.ffffff]"`).
pub fn time_of(v: &Json) -> Result<NaiveTime, String> {
    let text = tagged(v, "time")
        .or(Some(v))
        .and_then(Json::as_str)
        .ok_or_else(|| format!("expected a time of day, got {v}"))?;
    NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
        .map_err(|_| format!("{text:?} is not a time of day"))
}

/// A list of strings: one string, a list, or a tagged set/tuple.
pub fn strings(v: &Json) -> Result<Vec<String>, String> {
    updraft_core::deps::branch::followed_ids(v)
}

/// The DAG's timezone (`timezone`, default UTC).
pub fn dag_zone(cx: &TryCtx<'_>) -> Result<Zone, String> {
    let name = cx
        .task
        .dag
        .get("timezone")
        .and_then(Json::as_str)
        .unwrap_or("UTC");
    Zone::parse(name).map_err(|e| e.to_string())
}

/// The try's DAG run.
pub async fn this_run(cx: &TryCtx<'_>) -> Result<DagRunRow, String> {
    let mut conn = cx.conn().await?;
    dag_runs::get(&mut conn, &cx.ti.dag_id, &cx.ti.run_id)
        .await
        .map_err(|e| format!("reading the DAG run: {e}"))?
        .ok_or_else(|| format!("DAG run {} not found", cx.ti.run_id))
}

/// Logs `msg` as the task's error and fails the try (retries apply).
pub fn fail(cx: &TryCtx<'_>, msg: &str) -> Outcome {
    cx.sink.error(msg);
    Outcome::failed()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // The tagged forms of docs/serialized-dag.md and the strings templates make.
    #[test]
    fn reads_tagged_and_plain_values() {
        let dt = |s: &str| DateTime::parse_from_rfc3339(s).map(|d| d.to_utc());
        assert_eq!(
            datetime_of(&json!({"__type": "datetime", "__var": "2026-01-02T03:04:05+01:00"})).ok(),
            dt("2026-01-02T02:04:05Z").ok()
        );
        assert_eq!(
            datetime_of(&json!("2026-01-02 03:04:05")).ok(),
            dt("2026-01-02T03:04:05Z").ok()
        );
        assert_eq!(
            datetime_of(&json!("2026-01-02")).ok(),
            dt("2026-01-02T00:00:00Z").ok()
        );
        assert!(datetime_of(&json!("soon")).is_err());
        assert_eq!(
            seconds_of(&json!({"__type": "timedelta", "__var": 5.5})),
            Ok(5.5)
        );
        assert_eq!(
            time_of(&json!({"__type": "time", "__var": "10:30:00"})),
            Ok(NaiveTime::from_hms_opt(10, 30, 0).expect("time"))
        );
        assert!(time_of(&json!(3)).is_err());
    }
}
