//! `@once` and `@continuous` (`airflow/timetables/simple.py`). `None` and
//! asset schedules never run by time and need no code here.

use chrono::{DateTime, Utc};

use super::{DataInterval, Dialect, RunInfo, TimeRestriction};

/// `OnceTimetable`: one run at the start date, whatever catchup says. 3.x
/// runs a DAG without a start date right away; 2.x never runs it.
pub(super) fn once_next(
    dialect: Dialect,
    last: Option<&DataInterval>,
    restriction: &TimeRestriction,
    now: DateTime<Utc>,
) -> Option<RunInfo> {
    if last.is_some() {
        return None;
    }
    let run_after = match (restriction.earliest, dialect) {
        (Some(earliest), _) => earliest,
        (None, Dialect::V2) => return None,
        (None, Dialect::V3) => now,
    };
    if restriction.latest.is_some_and(|latest| run_after > latest) {
        return None;
    }
    Some(RunInfo::exact(run_after))
}

/// `ContinuousTimetable`: the next run covers the time since the last one
/// ended. 2.x, asked again before a future start date arrives, returns an
/// interval that ends before it starts; 3.x repeats the first interval.
pub(super) fn continuous_next(
    dialect: Dialect,
    last: Option<&DataInterval>,
    restriction: &TimeRestriction,
    now: DateTime<Utc>,
) -> Option<RunInfo> {
    let earliest = restriction.earliest?;
    let (start, end) = match last {
        None => (earliest, earliest.max(now)),
        Some(last) if dialect == Dialect::V3 && last.end > now => {
            (earliest, earliest + (last.end - last.start))
        }
        Some(last) => (last.end, now),
    };
    if restriction.latest.is_some_and(|latest| end > latest) {
        return None;
    }
    Some(RunInfo::interval(start, end))
}
