//! Trigger timetables (`airflow/timetables/trigger.py`): a run *at* each
//! schedule time, its data interval the `interval` before it (zero by
//! default, so `logical_date` is the run time).
//!
//! 2.10 has only `CronTriggerTimetable`, which gives up without a start date
//! under catchup. 3.1 adds `DeltaTriggerTimetable` and `_calc_first_run`
//! (`run_immediately`) for DAGs without a start date.

use chrono::{DateTime, TimeDelta, Utc};

use super::delta::Delta;
use super::interval::Periodic;
use super::{DataInterval, Dialect, RunInfo, TimeRestriction};

/// `CronTriggerTimetable(run_immediately=...)` (3.x): with no start date,
/// whether the first run is the latest past cron time or the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunImmediately {
    /// `True`: the latest past cron time.
    Yes,
    /// `False`, Airflow's default. Airflow 3.1 treats it exactly like `None`
    /// (its code checks `is True` and then only for a timedelta), so this
    /// means "within 10% of the period", like [`RunImmediately::Auto`].
    #[default]
    No,
    /// `None`: the past time if less than max(10% of the period, 5 minutes)
    /// ago, else the next one.
    Auto,
    /// A `timedelta`: the past time if at most this long ago.
    Within(TimeDelta),
}

/// A trigger timetable's schedule, data interval length and first-run rule
/// (`DeltaTriggerTimetable._calc_first_run` is `RunImmediately::Yes`).
pub(super) struct Trigger<'a, P> {
    pub schedule: &'a P,
    pub interval: &'a Delta,
    pub run_immediately: RunImmediately,
}

impl<P: Periodic> Trigger<'_, P> {
    /// `_calc_first_run`: with no start date, the latest past schedule time
    /// or the next one.
    fn calc_first_run(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let past = self.schedule.align_to_prev(now)?;
        let buffer = match self.run_immediately {
            RunImmediately::Yes => return Some(past),
            RunImmediately::Within(d) => d,
            RunImmediately::No | RunImmediately::Auto => {
                let next = self.schedule.align_to_next(now)?;
                ((next - past) / 10).max(TimeDelta::minutes(5))
            }
        };
        if now - past <= buffer {
            Some(past)
        } else {
            self.schedule.align_to_next(now)
        }
    }

    /// `_TriggerTimetable.next_dagrun_info` (3.1; 2.10's `CronTriggerTimetable`
    /// is the same minus the no-start-date branches).
    pub fn next(
        &self,
        dialect: Dialect,
        last: Option<&DataInterval>,
        restriction: &TimeRestriction,
        now: DateTime<Utc>,
    ) -> Option<RunInfo> {
        let schedule = self.schedule;
        let interval = self.interval;
        let next_start = if restriction.catchup {
            match (last, restriction.earliest) {
                (Some(last), _) => schedule.get_next(last.end)?,
                (None, Some(earliest)) => schedule.align_to_next(earliest)?,
                // 2.10: "Don't know where to catch up from, give up."
                (None, None) if dialect == Dialect::V2 => return None,
                (None, None) => self.calc_first_run(now)?,
            }
        } else {
            let mut candidates = vec![schedule.align_to_prev(now)?];
            match last {
                Some(last) => candidates.push(schedule.get_next(last.end)?),
                // 3.1: run_immediately has no effect when there is a start date.
                None if restriction.earliest.is_none() && dialect == Dialect::V3 => {
                    candidates.push(self.calc_first_run(now)?);
                }
                None => {}
            }
            if let Some(earliest) = restriction.earliest {
                candidates.push(schedule.align_to_next(earliest)?);
            }
            candidates.into_iter().max()?
        };
        if restriction.latest.is_some_and(|latest| latest < next_start) {
            return None;
        }
        Some(RunInfo {
            logical_date: interval.sub_from(next_start)?,
            data_interval: DataInterval {
                start: interval.sub_from(next_start)?,
                end: next_start,
            },
            run_after: next_start,
        })
    }
}

/// `infer_manual_data_interval`: the `interval` before `run_after`.
pub(super) fn manual(interval: &Delta, run_after: DateTime<Utc>) -> DataInterval {
    DataInterval {
        start: interval.sub_from(run_after).unwrap_or(run_after),
        end: run_after,
    }
}
