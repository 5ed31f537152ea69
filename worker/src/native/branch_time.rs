//! BranchDateTimeOperator and BranchDayOfWeekOperator: pick
//! `follow_task_ids_if_true` or `_if_false` by the current (or the run's
//! logical) date and time; the other direct downstream tasks are skipped
//! (`skip_all_except`, through [`BranchGraph`]). [`follow`] is shared with
//! LatestOnly.

use chrono::{DateTime, Datelike, NaiveTime, TimeDelta, Utc};
use serde_json::Value as Json;
use updraft_core::deps::branch::{BranchGraph, followed_ids};
use updraft_core::timetable::Zone;

use super::{dag_zone, datetime_of, fail, field, time_of};
use crate::dispatch::TryCtx;
use crate::outcome::Outcome;

/// A `target_lower`/`target_upper`: a time of day or a datetime.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Time(NaiveTime),
    At(DateTime<Utc>),
}

fn bound(v: Option<&Json>) -> Result<Option<Bound>, String> {
    let Some(v) = v else { return Ok(None) };
    if let Ok(t) = time_of(v) {
        return Ok(Some(Bound::Time(t)));
    }
    datetime_of(v).map(|d| Some(Bound::At(d)))
}

/// Airflow's `BranchDateTimeOperator.choose_branch`: a time of day is
/// put on `now`'s (UTC) date and read in the DAG's timezone; an upper
/// bound before the lower one moves to the next day; bounds are inclusive.
pub fn in_window(
    now: DateTime<Utc>,
    lower: Option<Bound>,
    upper: Option<Bound>,
    zone: &Zone,
) -> bool {
    let on_day = |b: Bound| match b {
        Bound::At(at) => at,
        Bound::Time(t) => zone.aware(now.date_naive().and_time(t)),
    };
    let both_datetimes = matches!((lower, upper), (Some(Bound::At(_)), Some(Bound::At(_))));
    let lower = lower.map(on_day);
    let mut upper = upper.map(on_day);
    if let (false, Some(l), Some(u)) = (both_datetimes, lower, upper)
        && u < l
    {
        upper = Some(u + TimeDelta::days(1));
    }
    !(upper.is_some_and(|u| u < now) || lower.is_some_and(|l| l > now))
}

/// `week_day`: a day name, a `WeekDay` (1 = Monday), or a collection of them.
pub fn week_days(v: &Json) -> Result<Vec<u32>, String> {
    const NAMES: [&str; 7] = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ];
    let one = |d: &Json| -> Result<u32, String> {
        match d {
            Json::String(s) => NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(s))
                .map(|i| i as u32 + 1)
                .ok_or_else(|| format!("Invalid Week Day passed: \"{s}\"")),
            Json::Number(n) => n
                .as_u64()
                .filter(|n| (1..=7).contains(n))
                .map(|n| n as u32)
                .ok_or_else(|| format!("Invalid Week Day passed: {n}")),
            other => Err(format!("Invalid Week Day passed: {other}")),
        }
    };
    let items = match v {
        Json::Array(items) => items.clone(),
        Json::Object(m) => match m.get("__var") {
            Some(Json::Array(items)) => items.clone(),
            _ => return Err(format!("Unsupported Type for week_day parameter: {v}")),
        },
        single => vec![single.clone()],
    };
    items.iter().map(one).collect()
}

/// Ends a branching try: `followed` (as the operator returned it) becomes
/// the `return_value` XCom and every other direct downstream task is skipped.
pub fn follow(cx: &TryCtx<'_>, followed: Json) -> Outcome {
    let ids = match followed_ids(&followed) {
        Ok(ids) => ids,
        Err(e) => return fail(cx, &e),
    };
    let skip = BranchGraph::from_serialized(&cx.task.dag)
        .and_then(|g| g.branch_skips(&cx.ti.task_id, &ids));
    let skip = match skip {
        Ok(s) => s,
        Err(e) => return fail(cx, &e),
    };
    cx.sink.info(&format!("Branch into {followed}"));
    if !skip.is_empty() {
        cx.sink.info(&format!("Skipping tasks {skip:?}"));
    }
    let push = cx.task.task.get("do_xcom_push").and_then(Json::as_bool) != Some(false);
    let mut out = Outcome::success(push.then_some(followed));
    out.skip = skip;
    out
}

fn now_or_logical(cx: &TryCtx<'_>) -> Result<DateTime<Utc>, String> {
    if field(cx, "use_task_logical_date").and_then(Json::as_bool) == Some(true) {
        cx.prepared
            .inputs
            .logical_date
            .ok_or_else(|| "use_task_logical_date: this run has no logical date".to_owned())
    } else {
        Ok(Utc::now())
    }
}

fn branch_ids(cx: &TryCtx<'_>, yes: bool) -> Json {
    let name = if yes {
        "follow_task_ids_if_true"
    } else {
        "follow_task_ids_if_false"
    };
    field(cx, name).cloned().unwrap_or(Json::Null)
}

/// `branch_datetime`.
pub async fn branch_datetime(cx: &TryCtx<'_>) -> Outcome {
    let bounds =
        bound(field(cx, "target_lower")).and_then(|l| Ok((l, bound(field(cx, "target_upper"))?)));
    let (lower, upper) = match bounds {
        Ok((None, None)) => {
            return fail(
                cx,
                "Both target_upper and target_lower are None. At least one must be defined to be compared to the current datetime",
            );
        }
        Ok(b) => b,
        Err(e) => return fail(cx, &e),
    };
    let (now, zone) = match (now_or_logical(cx), dag_zone(cx)) {
        (Ok(n), Ok(z)) => (n, z),
        (Err(e), _) | (_, Err(e)) => return fail(cx, &e),
    };
    follow(cx, branch_ids(cx, in_window(now, lower, upper, &zone)))
}

/// `branch_weekday`: the DAG-local day now, or the logical date's (UTC) day.
pub async fn branch_weekday(cx: &TryCtx<'_>) -> Outcome {
    let days = match field(cx, "week_day").map(week_days) {
        Some(Ok(d)) => d,
        Some(Err(e)) => return fail(cx, &e),
        None => return fail(cx, "BranchDayOfWeekOperator needs week_day"),
    };
    let logical = field(cx, "use_task_logical_date").and_then(Json::as_bool) == Some(true);
    let day = match (now_or_logical(cx), dag_zone(cx)) {
        (Ok(at), _) if logical => at.weekday().number_from_monday(),
        (Ok(now), Ok(zone)) => zone.naive(now).weekday().number_from_monday(),
        (Err(e), _) | (_, Err(e)) => return fail(cx, &e),
    };
    follow(cx, branch_ids(cx, days.contains(&day)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("datetime").to_utc()
    }

    fn t(h: u32) -> Option<Bound> {
        Some(Bound::Time(NaiveTime::from_hms_opt(h, 0, 0).expect("time")))
    }

    // Inclusive bounds, open ends, a window over midnight, and times read
    // in the DAG's timezone.
    #[test]
    fn datetime_windows() {
        let utc = Zone::parse("UTC").expect("zone");
        let noon = at("2026-05-05T12:00:00Z");
        assert!(in_window(noon, t(10), t(14), &utc));
        assert!(in_window(noon, t(12), t(12), &utc), "inclusive");
        assert!(!in_window(noon, t(13), None, &utc));
        assert!(in_window(noon, None, t(13), &utc));
        assert!(
            !in_window(noon, t(22), t(2), &utc),
            "22:00 to 02:00 next day"
        );
        assert!(in_window(at("2026-05-05T23:00:00Z"), t(22), t(2), &utc));
        let paris = Zone::parse("Europe/Paris").expect("zone");
        // 12:00 UTC is 14:00 in Paris (summer time).
        assert!(!in_window(noon, t(10), t(13), &paris));
        assert!(in_window(noon, t(13), t(15), &paris));
        let (a, b) = (at("2026-05-01T00:00:00Z"), at("2026-05-06T00:00:00Z"));
        assert!(in_window(
            noon,
            Some(Bound::At(a)),
            Some(Bound::At(b)),
            &utc
        ));
        assert!(!in_window(noon, Some(Bound::At(b)), None, &utc));
    }

    // Names in any case, WeekDay numbers, and collections of both.
    #[test]
    fn week_day_shapes() {
        assert_eq!(week_days(&json!("monday")), Ok(vec![1]));
        assert_eq!(week_days(&json!(7)), Ok(vec![7]));
        assert_eq!(
            week_days(&json!({"__type": "set", "__var": ["Tuesday", 1]})),
            Ok(vec![2, 1])
        );
        assert_eq!(week_days(&json!(["Friday"])), Ok(vec![5]));
        assert!(week_days(&json!("Funday")).is_err());
        assert!(week_days(&json!(8)).is_err());
    }
}
