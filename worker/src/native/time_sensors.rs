//! TimeSensor, TimeDeltaSensor and DateTimeSensor: each waits until a
//! moment it computes once, then pokes `now > target` (Airflow's strict
//! comparison). The deferrable variants run the same way here. Also
//! DayOfWeekSensor, which waits for a day of the week.

use chrono::{DateTime, Datelike, NaiveTime, TimeDelta, Utc};
use serde_json::Value as Json;
use updraft_core::timetable::Zone;

use super::{dag_zone, datetime_of, fail, field, seconds_of, this_run, time_of};
use crate::dispatch::TryCtx;
use crate::outcome::{Outcome, Poke};
use crate::sensor;
use crate::templates::Dialect;

/// TimeSensor's target. 2.x compares the time of day in the DAG's timezone
/// at each poke (`None`: wall-clock mode); the 3.x standard provider fixes
/// the moment when the task starts (it parses the DAG then): `target_time`
/// on that day in the DAG's timezone.
pub fn time_sensor_target(
    dialect: Dialect,
    zone: &Zone,
    target: NaiveTime,
    started: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match dialect {
        Dialect::V2 => None,
        Dialect::V3 => Some(zone.aware(zone.naive(started).date().and_time(target))),
    }
}

/// 2.x TimeSensor's poke: the DAG-local time of day is past `target`.
pub fn past_time_of_day(zone: &Zone, target: NaiveTime, now: DateTime<Utc>) -> bool {
    zone.naive(now).time() > target
}

async fn wait_until(cx: &TryCtx<'_>, target: DateTime<Utc>) -> Outcome {
    cx.sink
        .info(&format!("Checking if the time ({target}) has come"));
    sensor::drive(cx, || async move {
        if Utc::now() > target {
            Poke::Done { xcom: None }
        } else {
            Poke::NotYet
        }
    })
    .await
}

/// `time_sensor`: waits for `target_time` (a time of day).
pub async fn time_sensor(cx: &TryCtx<'_>) -> Outcome {
    let target = match field(cx, "target_time").map(time_of) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return fail(cx, &format!("target_time: {e}")),
        None => return fail(cx, "TimeSensor needs target_time"),
    };
    let zone = match dag_zone(cx) {
        Ok(z) => z,
        Err(e) => return fail(cx, &e),
    };
    match time_sensor_target(cx.prepared.inputs.dialect, &zone, target, Utc::now()) {
        Some(at) => wait_until(cx, at).await,
        None => {
            cx.sink
                .info(&format!("Checking if the time ({target}) has come"));
            let zone = &zone;
            sensor::drive(cx, || async move {
                if past_time_of_day(zone, target, Utc::now()) {
                    Poke::Done { xcom: None }
                } else {
                    Poke::NotYet
                }
            })
            .await
        }
    }
}

/// `time_delta_sensor`: waits until the run's `data_interval_end + delta`
/// (3.x: `run_after + delta` when the run has no data interval).
pub async fn time_delta_sensor(cx: &TryCtx<'_>) -> Outcome {
    let delta = match field(cx, "delta").map(seconds_of) {
        Some(Ok(s)) => TimeDelta::milliseconds((s * 1000.0) as i64),
        Some(Err(e)) => return fail(cx, &format!("delta: {e}")),
        None => return fail(cx, "TimeDeltaSensor needs delta"),
    };
    let run = match this_run(cx).await {
        Ok(r) => r,
        Err(e) => return fail(cx, &e),
    };
    let base = run.data_interval_end.unwrap_or(run.run_after);
    wait_until(cx, base + delta).await
}

/// `date_time_sensor`: waits for `target_time` (a datetime or a rendered
/// string).
pub async fn date_time_sensor(cx: &TryCtx<'_>) -> Outcome {
    match field(cx, "target_time").map(datetime_of) {
        Some(Ok(at)) => wait_until(cx, at).await,
        Some(Err(e)) => fail(cx, &format!("target_time: {e}")),
        None => fail(cx, "DateTimeSensor needs target_time"),
    }
}

/// `day_of_week_sensor`: done when today (UTC, as Airflow's poke reads
/// it) or the run's logical date falls on one of `week_day`.
pub async fn day_of_week_sensor(cx: &TryCtx<'_>) -> Outcome {
    let days = match field(cx, "week_day").map(super::branch_time::week_days) {
        Some(Ok(d)) => d,
        Some(Err(e)) => return fail(cx, &e),
        None => return fail(cx, "DayOfWeekSensor needs week_day"),
    };
    let logical = if field(cx, "use_task_logical_date").and_then(Json::as_bool) == Some(true) {
        match cx.prepared.inputs.logical_date {
            Some(at) => Some(at),
            None => return fail(cx, "use_task_logical_date: this run has no logical date"),
        }
    } else {
        None
    };
    cx.sink
        .info(&format!("Poking until weekday is in {days:?} (1 = Monday)"));
    let days = &days;
    sensor::drive(cx, || async move {
        let day = logical
            .unwrap_or_else(Utc::now)
            .weekday()
            .number_from_monday();
        if days.contains(&day) {
            Poke::Done { xcom: None }
        } else {
            Poke::NotYet
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("datetime").to_utc()
    }

    // 3.x: the start's day in the DAG's timezone; 2.x: a daily wall-clock check.
    #[test]
    fn time_sensor_reference_day_follows_the_dialect() {
        let paris = Zone::parse("Europe/Paris").expect("zone");
        let ten = NaiveTime::from_hms_opt(10, 0, 0).expect("time");
        // 23:30 UTC on Jan 1 is already Jan 2 in Paris.
        let started = at("2026-01-01T23:30:00Z");
        assert_eq!(
            time_sensor_target(Dialect::V3, &paris, ten, started),
            Some(at("2026-01-02T09:00:00Z"))
        );
        assert_eq!(time_sensor_target(Dialect::V2, &paris, ten, started), None);
        assert!(past_time_of_day(&paris, ten, at("2026-03-01T09:30:00Z")));
        assert!(!past_time_of_day(&paris, ten, at("2026-03-01T08:30:00Z")));
    }
}
