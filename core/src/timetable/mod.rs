//! When DAG runs happen: Airflow's timetables as pure functions of the
//! serialized schedule, the DAG's dates and the last run. No I/O.
//!
//! [`DagSchedule::from_dag`] turns a serialized DAG's `schedule`, `start_date`,
//! `end_date`, `catchup` and `dialect` (plus the deployment's
//! [`ScheduleDefaults`]) into a [`Timetable`] and a [`TimeRestriction`];
//! [`Timetable::next_dagrun_info`] then answers what Airflow's
//! `Timetable.next_dagrun_info(last_automated_data_interval, restriction)`
//! answers, with "now" passed in instead of read from a clock. The code follows
//! `airflow/timetables/*.py` of Airflow 2.10.5 and 3.1.8 line by line, quirks
//! included; where the two versions differ the DAG's [`Dialect`] picks. The
//! goldens in `core/tests/timetable_golden/` come from those real versions
//! (`scripts/golden/timetables.py`).
//!
//! Defaults come from two places, as the brief for this module asks: an unset
//! `catchup` and the data-interval/trigger choice for cron strings follow the
//! deployment's `[scheduler]` settings; the omitted schedule (2.x daily, 3.x
//! none) and the 2.x/3.x quirks follow the DAG's dialect.
//!
//! Besides the model and config types it uses `chrono`, `chrono-tz`, `croner`
//! (which reads Airflow's 5-field crontab) and `serde_json` (relativedelta).

mod build;
mod cron;
mod delta;
mod interval;
mod simple;
mod trigger;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

pub use build::{DagSchedule, DagTiming, ScheduleDefaults, TriggerOptions, parse_date};
pub use cron::{CronExpr, Zone};
pub use delta::{Delta, RelativeDelta, timedelta_str};
pub use trigger::RunImmediately;

/// Why a schedule cannot become a timetable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimetableError {
    #[error("invalid cron expression {expr:?}: {reason}")]
    InvalidCron { expr: String, reason: String },
    #[error("unknown timezone {0:?}")]
    UnknownTimezone(String),
    #[error("schedule interval must be positive, not {0}")]
    NonPositiveDelta(String),
    #[error("invalid relativedelta {0}")]
    InvalidRelativeDelta(String),
    #[error("invalid {field} {value:?}: not an ISO 8601 datetime with an offset")]
    InvalidDate { field: &'static str, value: String },
    #[error("timetable {0} is not supported by Updraft's scheduler")]
    Unsupported(String),
}

/// Which Airflow's behaviour to follow where 2.x and 3.x differ (the
/// serialized DAG's `dialect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    V2,
    V3,
}

impl Dialect {
    /// The serialized DAG's `dialect` field: `"3"` is 3.x, anything else 2.x.
    pub fn from_serialized(dialect: Option<&str>) -> Self {
        match dialect {
            Some("3") => Self::V3,
            _ => Self::V2,
        }
    }
}

/// The span of data a run covers; `start == end` for trigger-style runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataInterval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl DataInterval {
    /// Airflow's `DataInterval.exact(at)`.
    pub fn exact(at: DateTime<Utc>) -> Self {
        Self { start: at, end: at }
    }
}

/// What to create next: Airflow's `DagRunInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunInfo {
    /// Always `data_interval.start`, as in Airflow.
    pub logical_date: DateTime<Utc>,
    pub data_interval: DataInterval,
    /// The run must not be created before this time.
    pub run_after: DateTime<Utc>,
}

impl RunInfo {
    /// `DagRunInfo.interval(start, end)`: runs once the interval has ended.
    pub fn interval(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            logical_date: start,
            data_interval: DataInterval { start, end },
            run_after: end,
        }
    }

    /// `DagRunInfo.exact(at)`.
    pub fn exact(at: DateTime<Utc>) -> Self {
        Self::interval(at, at)
    }
}

/// Airflow's `TimeRestriction`: `earliest`/`latest` are the DAG's start and
/// end dates (both inclusive); `catchup` the resolved catchup flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRestriction {
    pub earliest: Option<DateTime<Utc>>,
    pub latest: Option<DateTime<Utc>>,
    pub catchup: bool,
}

/// A DAG's timetable: what kind, and which Airflow's quirks it follows.
#[derive(Debug, Clone)]
pub struct Timetable {
    pub kind: TimetableKind,
    pub dialect: Dialect,
}

/// Airflow's built-in timetables (class names in [`Timetable::class_name`]).
#[derive(Debug, Clone)]
pub enum TimetableKind {
    /// `schedule=None`: never scheduled.
    Null,
    /// `@once`: one run at `start_date`.
    Once,
    /// `@continuous`: a new run as soon as the last one ends.
    Continuous,
    /// A run per cron interval, created when the interval ends (2.x default).
    CronDataInterval(CronExpr),
    /// A run at each cron time (3.x default).
    CronTrigger {
        cron: CronExpr,
        interval: Delta,
        run_immediately: RunImmediately,
    },
    /// A run per `timedelta`/`relativedelta` interval, created when it ends.
    DeltaDataInterval(Delta),
    /// A run every `delta`, with a data interval of `interval` before it.
    DeltaTrigger { delta: Delta, interval: Delta },
    /// Asset/dataset-triggered: no time-based runs.
    Assets,
    /// Asset-triggered, and also on a time-based timetable.
    AssetOrTime(Box<TimetableKind>),
}

impl Timetable {
    /// The next run after `last_automated` (the data interval of the latest
    /// scheduled or backfill run; manual runs do not count), or `None` when
    /// no run is due (yet). Airflow logs and returns `None` when a cron has no
    /// next time; so does this.
    pub fn next_dagrun_info(
        &self,
        last_automated: Option<&DataInterval>,
        restriction: &TimeRestriction,
        now: DateTime<Utc>,
    ) -> Option<RunInfo> {
        next_for(&self.kind, self.dialect, last_automated, restriction, now)
    }

    /// The data interval of a run triggered by hand at `run_after`.
    pub fn infer_manual_data_interval(&self, run_after: DateTime<Utc>) -> DataInterval {
        manual_for(&self.kind, run_after)
    }

    /// Whether the scheduler ever creates runs by itself (`can_be_scheduled`).
    pub fn can_be_scheduled(&self) -> bool {
        match &self.kind {
            TimetableKind::Null => false,
            TimetableKind::AssetOrTime(inner) => !matches!(**inner, TimetableKind::Null),
            _ => true,
        }
    }

    /// Airflow's `periodic`: false for None, @once, @continuous and assets.
    pub fn periodic(&self) -> bool {
        fn periodic(kind: &TimetableKind) -> bool {
            match kind {
                TimetableKind::Null
                | TimetableKind::Once
                | TimetableKind::Continuous
                | TimetableKind::Assets => false,
                TimetableKind::AssetOrTime(inner) => periodic(inner),
                _ => true,
            }
        }
        periodic(&self.kind)
    }

    /// `active_runs_limit`: @continuous allows one active run at a time.
    pub fn active_runs_limit(&self) -> Option<u32> {
        match &self.kind {
            TimetableKind::Continuous => Some(1),
            TimetableKind::AssetOrTime(inner) if matches!(**inner, TimetableKind::Continuous) => {
                Some(1)
            }
            _ => None,
        }
    }
}

fn next_for(
    kind: &TimetableKind,
    dialect: Dialect,
    last: Option<&DataInterval>,
    restriction: &TimeRestriction,
    now: DateTime<Utc>,
) -> Option<RunInfo> {
    use TimetableKind as K;
    match kind {
        K::Null | K::Assets => None,
        K::Once => simple::once_next(dialect, last, restriction, now),
        K::Continuous => simple::continuous_next(dialect, last, restriction, now),
        K::CronDataInterval(cron) => interval::next(cron, last, restriction, now),
        K::DeltaDataInterval(delta) => interval::next(delta, last, restriction, now),
        K::CronTrigger {
            cron,
            interval,
            run_immediately,
        } => trigger::Trigger {
            schedule: cron,
            interval,
            run_immediately: *run_immediately,
        }
        .next(dialect, last, restriction, now),
        K::DeltaTrigger { delta, interval } => trigger::Trigger {
            schedule: delta,
            interval,
            run_immediately: RunImmediately::Yes,
        }
        .next(dialect, last, restriction, now),
        K::AssetOrTime(inner) => next_for(inner, dialect, last, restriction, now),
    }
}

fn manual_for(kind: &TimetableKind, run_after: DateTime<Utc>) -> DataInterval {
    use TimetableKind as K;
    match kind {
        K::Null | K::Once | K::Continuous | K::Assets => DataInterval::exact(run_after),
        K::CronDataInterval(cron) => interval::cron_manual(cron, run_after),
        K::DeltaDataInterval(delta) => interval::delta_manual(delta, run_after),
        K::CronTrigger { interval, .. } | K::DeltaTrigger { interval, .. } => {
            trigger::manual(interval, run_after)
        }
        K::AssetOrTime(inner) => manual_for(inner, run_after),
    }
}
