//! Data-interval timetables (`airflow/timetables/interval.py`): a run per
//! interval of the schedule, created once the interval has ended. Identical in
//! Airflow 2.10 and 3.1.

use chrono::{DateTime, Utc};

use super::cron::CronExpr;
use super::delta::Delta;
use super::{DataInterval, RunInfo, TimeRestriction};

/// What `_DataIntervalTimetable` asks of its subclasses. `None` means "no
/// such time" (a cron that never fires again), where Airflow raises and the
/// DAG wrapper logs and returns no run.
pub(super) trait Periodic {
    fn get_next(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>>;
    fn get_prev(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>>;
    fn align_to_next(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>>;
    fn align_to_prev(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>>;
    /// `_skip_to_latest`: the earliest start allowed when catchup is off.
    fn skip_to_latest(
        &self,
        earliest: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>>;
}

impl Periodic for CronExpr {
    fn get_next(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        CronExpr::get_next(self, current)
    }
    fn get_prev(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        CronExpr::get_prev(self, current)
    }
    fn align_to_next(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        CronExpr::align_to_next(self, current)
    }
    fn align_to_prev(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        CronExpr::align_to_prev(self, current)
    }

    /// Moves the start up to one period before now, so that the interval
    /// that has most recently ended runs. When now is exactly on a cron
    /// time, that is the interval ending now.
    fn skip_to_latest(
        &self,
        earliest: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let last_start = self.get_prev(now)?;
        let next_start = self.get_next(last_start)?;
        let new_start = if next_start == now {
            last_start
        } else if next_start > now {
            self.get_prev(last_start)?
        } else {
            // Airflow raises AssertionError("next schedule shouldn't be earlier").
            return None;
        };
        match earliest {
            None => Some(new_start),
            Some(e) => Some(new_start.max(self.align_to_next(e)?)),
        }
    }
}

impl Periodic for Delta {
    fn get_next(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.add_to(current)
    }
    fn get_prev(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.sub_from(current)
    }
    fn align_to_next(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(current)
    }
    fn align_to_prev(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(current)
    }

    /// One delta before now rounded down to a multiple of the delta.
    fn skip_to_latest(
        &self,
        earliest: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let new_start = self.get_prev(self.round_down(now)?)?;
        Some(earliest.map_or(new_start, |e| new_start.max(e)))
    }
}

/// `_DataIntervalTimetable.next_dagrun_info`.
pub(super) fn next(
    schedule: &impl Periodic,
    last: Option<&DataInterval>,
    restriction: &TimeRestriction,
    now: DateTime<Utc>,
) -> Option<RunInfo> {
    let earliest = if !restriction.catchup {
        Some(schedule.skip_to_latest(restriction.earliest, now)?)
    } else {
        match restriction.earliest {
            Some(e) => Some(schedule.align_to_next(e)?),
            None => None,
        }
    };
    let start = match last {
        // First run: the first time matching the schedule.
        None => earliest?,
        Some(last) => {
            // Alignment is needed when the DAG's schedule changed.
            let aligned_end = schedule.align_to_prev(last.end)?;
            earliest.map_or(aligned_end, |e| aligned_end.max(e))
        }
    };
    if restriction.latest.is_some_and(|latest| start > latest) {
        return None;
    }
    let end = schedule.get_next(start)?;
    Some(RunInfo::interval(start, end))
}

/// `CronDataIntervalTimetable.infer_manual_data_interval`: the last complete
/// period before `run_after` (a run at 01:00 of a daily DAG covers the day
/// before). Falls back to an exact interval if the cron never fires.
pub(super) fn cron_manual(cron: &CronExpr, run_after: DateTime<Utc>) -> DataInterval {
    let interval = cron.align_to_prev(run_after).and_then(|end| {
        Some(DataInterval {
            start: cron.get_prev(end)?,
            end,
        })
    });
    interval.unwrap_or(DataInterval::exact(run_after))
}

/// `DeltaDataIntervalTimetable.infer_manual_data_interval`: one delta back.
pub(super) fn delta_manual(delta: &Delta, run_after: DateTime<Utc>) -> DataInterval {
    DataInterval {
        start: delta.sub_from(run_after).unwrap_or(run_after),
        end: run_after,
    }
}
