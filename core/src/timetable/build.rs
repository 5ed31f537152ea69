//! From the serialized DAG to a [`Timetable`] and [`TimeRestriction`]: the
//! rules of Airflow's `create_timetable` (2.10, `airflow/models/dag.py`) and
//! `_create_timetable` (3.1, `airflow/sdk/definitions/dag.py`), and the names
//! Airflow shows for each timetable.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::cron::{CronExpr, Zone};
use super::delta::{Delta, RelativeDelta};
use super::trigger::RunImmediately;
use super::{
    DataInterval, Dialect, RunInfo, TimeRestriction, Timetable, TimetableError, TimetableKind,
};
use crate::config::SchedulerSettings;
use crate::model::serialized::{Schedule, SerializedDag};

/// The deployment's `[scheduler]` settings that decide a DAG's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleDefaults {
    /// `catchup_by_default`: used when the DAG leaves `catchup` unset.
    pub catchup_by_default: bool,
    /// `create_cron_data_intervals`: a cron string (and, in 3.x, a timedelta)
    /// becomes a data-interval timetable if true, a trigger timetable if not.
    pub create_cron_data_intervals: bool,
}

impl From<&SchedulerSettings> for ScheduleDefaults {
    fn from(s: &SchedulerSettings) -> Self {
        Self {
            catchup_by_default: s.catchup_by_default,
            create_cron_data_intervals: s.create_cron_data_intervals,
        }
    }
}

/// `CronTriggerTimetable`/`DeltaTriggerTimetable` arguments (`interval`,
/// `run_immediately`), read from the serialized `schedule` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerOptions {
    pub interval: Delta,
    pub run_immediately: RunImmediately,
}

impl Default for TriggerOptions {
    fn default() -> Self {
        Self {
            interval: Delta::ZERO,
            run_immediately: RunImmediately::No,
        }
    }
}

impl TriggerOptions {
    /// The options a serialized schedule carries. Versions stored before the
    /// fields existed have none: Airflow's defaults (no interval, `False`).
    pub fn from_schedule(schedule: &Schedule) -> Result<Self, TimetableError> {
        let (interval, run_immediately) = match schedule {
            Schedule::Cron {
                interval,
                run_immediately,
                ..
            } => (interval.as_ref(), run_immediately.as_ref()),
            Schedule::Delta { interval, .. } | Schedule::Relativedelta { interval, .. } => {
                (interval.as_ref(), None)
            }
            Schedule::AssetOrTime { timetable, .. } => return Self::from_schedule(timetable),
            _ => (None, None),
        };
        Ok(Self {
            interval: match interval {
                None => Delta::ZERO,
                Some(serde_json::Value::Number(n)) => {
                    Delta::from_seconds(n.as_f64().unwrap_or(f64::NAN))?
                }
                Some(v @ serde_json::Value::Object(_)) => {
                    Delta::Relative(RelativeDelta::from_json(v)?)
                }
                Some(other) => {
                    return Err(TimetableError::InvalidRelativeDelta(format!(
                        "interval {other}"
                    )));
                }
            },
            run_immediately: match run_immediately {
                None | Some(serde_json::Value::Bool(false)) => RunImmediately::No,
                Some(serde_json::Value::Bool(true)) => RunImmediately::Yes,
                Some(serde_json::Value::String(s)) if s == "auto" => RunImmediately::Auto,
                Some(serde_json::Value::Number(n)) => {
                    let micros = (n.as_f64().unwrap_or(f64::NAN) * 1e6).round();
                    if !micros.is_finite() || micros.abs() > 9.0e15 {
                        return Err(TimetableError::NonPositiveDelta(n.to_string()));
                    }
                    RunImmediately::Within(TimeDelta::microseconds(micros as i64))
                }
                Some(other) => {
                    return Err(TimetableError::Unsupported(format!(
                        "run_immediately = {other}"
                    )));
                }
            },
        })
    }
}

/// The scheduling-relevant fields of one DAG.
#[derive(Debug, Clone)]
pub struct DagTiming<'a> {
    pub schedule: &'a Schedule,
    pub dialect: Dialect,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    /// `None`: the deployment's `catchup_by_default`.
    pub catchup: Option<bool>,
    pub trigger: TriggerOptions,
}

/// A DAG's timetable with its restriction: all the scheduler needs to decide
/// the next run.
#[derive(Debug, Clone)]
pub struct DagSchedule {
    pub timetable: Timetable,
    pub restriction: TimeRestriction,
}

impl DagSchedule {
    pub fn new(
        timing: &DagTiming<'_>,
        defaults: &ScheduleDefaults,
    ) -> Result<Self, TimetableError> {
        let timetable =
            Timetable::from_schedule(timing.schedule, timing.dialect, defaults, &timing.trigger)?;
        let restriction = TimeRestriction {
            earliest: timing.start_date,
            latest: timing.end_date,
            catchup: timing.catchup.unwrap_or(defaults.catchup_by_default),
        };
        Ok(Self {
            timetable,
            restriction,
        })
    }

    /// Reads `schedule`, `start_date`, `end_date`, `catchup` and `dialect` of
    /// a serialized DAG. (Airflow also narrows the restriction by the tasks'
    /// own start and end dates; the serialized tasks do not carry them here.)
    pub fn from_dag(
        dag: &SerializedDag,
        defaults: &ScheduleDefaults,
    ) -> Result<Self, TimetableError> {
        let timing = DagTiming {
            schedule: &dag.schedule,
            dialect: Dialect::from_serialized(dag.dialect.as_deref()),
            start_date: parse_date("start_date", dag.start_date.as_deref())?,
            end_date: parse_date("end_date", dag.end_date.as_deref())?,
            catchup: dag.catchup,
            trigger: TriggerOptions::from_schedule(&dag.schedule)?,
        };
        Self::new(&timing, defaults)
    }

    /// The next automated run after `last_automated` as of `now`.
    pub fn next_dagrun_info(
        &self,
        last_automated: Option<&DataInterval>,
        now: DateTime<Utc>,
    ) -> Option<RunInfo> {
        self.timetable
            .next_dagrun_info(last_automated, &self.restriction, now)
    }
}

/// An ISO 8601 datetime of the contract; one without an offset is UTC.
pub fn parse_date(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<DateTime<Utc>>, TimetableError> {
    let Some(value) = value else { return Ok(None) };
    if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
        return Ok(Some(dt.to_utc()));
    }
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|n| Some(n.and_utc()))
        .map_err(|_| TimetableError::InvalidDate {
            field,
            value: value.to_owned(),
        })
}

impl Timetable {
    /// The timetable Airflow creates for a schedule value.
    pub fn from_schedule(
        schedule: &Schedule,
        dialect: Dialect,
        defaults: &ScheduleDefaults,
        trigger: &TriggerOptions,
    ) -> Result<Self, TimetableError> {
        let kind = kind_for(schedule, dialect, defaults, trigger)?;
        Ok(Self { kind, dialect })
    }

    /// Airflow's class name for this timetable.
    pub fn class_name(&self) -> &'static str {
        use TimetableKind as K;
        let v2 = self.dialect == Dialect::V2;
        match &self.kind {
            K::Null => "NullTimetable",
            K::Once => "OnceTimetable",
            K::Continuous => "ContinuousTimetable",
            K::CronDataInterval(_) => "CronDataIntervalTimetable",
            K::CronTrigger { .. } => "CronTriggerTimetable",
            K::DeltaDataInterval(_) => "DeltaDataIntervalTimetable",
            K::DeltaTrigger { .. } => "DeltaTriggerTimetable",
            K::Assets if v2 => "DatasetTriggeredTimetable",
            K::Assets => "AssetTriggeredTimetable",
            K::AssetOrTime(_) if v2 => "DatasetOrTimeSchedule",
            K::AssetOrTime(_) => "AssetOrTimeSchedule",
        }
    }

    /// Airflow's `timetable.summary`, shown in the DAG list: `None`,
    /// `@once`, the cron expression (presets expanded), `1 day, 0:00:00`…
    pub fn summary(&self) -> String {
        summary_of(&self.kind, self.dialect)
    }

    /// Airflow's `timetable.description`. For cron timetables this is
    /// croner's wording, not Airflow's (`cron_descriptor`'s "At 00:00").
    pub fn description(&self) -> String {
        description_of(&self.kind, self.dialect)
    }
}

fn asset_word(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::V2 => "Dataset",
        Dialect::V3 => "Asset",
    }
}

fn summary_of(kind: &TimetableKind, dialect: Dialect) -> String {
    use TimetableKind as K;
    match kind {
        K::Null => "None".into(),
        K::Once => "@once".into(),
        K::Continuous => "@continuous".into(),
        K::CronDataInterval(cron) | K::CronTrigger { cron, .. } => cron.expression().into(),
        K::DeltaDataInterval(delta) | K::DeltaTrigger { delta, .. } => delta.summary(),
        K::Assets => asset_word(dialect).into(),
        K::AssetOrTime(inner) => {
            format!("{} or {}", asset_word(dialect), summary_of(inner, dialect))
        }
    }
}

fn description_of(kind: &TimetableKind, dialect: Dialect) -> String {
    use TimetableKind as K;
    match kind {
        K::Null => "Never, external triggers only".into(),
        K::Once => "Once, as soon as possible".into(),
        K::Continuous => "As frequently as possible, but only one run at a time.".into(),
        K::CronDataInterval(cron) | K::CronTrigger { cron, .. } => cron.describe(),
        K::DeltaDataInterval(_) | K::DeltaTrigger { .. } => String::new(),
        K::Assets => format!("Triggered by {}s", asset_word(dialect).to_lowercase()),
        K::AssetOrTime(inner) => format!(
            "Triggered by {}s or {}",
            asset_word(dialect).to_lowercase(),
            description_of(inner, dialect)
        ),
    }
}

/// Which timetable a `timetable` hint (`"trigger"`, `"data_interval"`, null
/// for the deployment default) selects.
fn wants_trigger(hint: Option<&str>, default_trigger: bool) -> Result<bool, TimetableError> {
    match hint {
        None => Ok(default_trigger),
        Some("trigger") => Ok(true),
        Some("data_interval") => Ok(false),
        Some(other) => Err(TimetableError::Unsupported(format!("{other:?}"))),
    }
}

fn kind_for(
    schedule: &Schedule,
    dialect: Dialect,
    defaults: &ScheduleDefaults,
    trigger: &TriggerOptions,
) -> Result<TimetableKind, TimetableError> {
    use TimetableKind as K;
    // 2.10 always makes a DeltaDataIntervalTimetable from a timedelta; 3.1
    // reads create_cron_data_intervals for timedeltas too.
    let delta_default_trigger = dialect == Dialect::V3 && !defaults.create_cron_data_intervals;
    let delta_kind = |delta: Delta, hint: Option<&str>| -> Result<TimetableKind, TimetableError> {
        delta.validate()?;
        if wants_trigger(hint, delta_default_trigger)? {
            Ok(K::DeltaTrigger {
                delta,
                interval: trigger.interval,
            })
        } else {
            Ok(K::DeltaDataInterval(delta))
        }
    };
    Ok(match schedule {
        Schedule::None => K::Null,
        Schedule::Once => K::Once,
        Schedule::Continuous => K::Continuous,
        Schedule::Default => match dialect {
            Dialect::V2 => K::DeltaDataInterval(Delta::Fixed(TimeDelta::days(1))),
            Dialect::V3 => K::Null,
        },
        Schedule::Cron {
            expr,
            timezone,
            timetable,
            ..
        } => {
            let zone = Zone::parse(timezone.as_deref().unwrap_or("UTC"))?;
            let cron = CronExpr::parse(expr, zone)?;
            if wants_trigger(timetable.as_deref(), !defaults.create_cron_data_intervals)? {
                K::CronTrigger {
                    cron,
                    interval: trigger.interval,
                    run_immediately: trigger.run_immediately,
                }
            } else {
                K::CronDataInterval(cron)
            }
        }
        Schedule::Delta {
            seconds, timetable, ..
        } => delta_kind(Delta::from_seconds(*seconds)?, timetable.as_deref())?,
        Schedule::Relativedelta {
            value, timetable, ..
        } => delta_kind(
            Delta::Relative(RelativeDelta::from_json(value)?),
            timetable.as_deref(),
        )?,
        Schedule::Assets { .. } => K::Assets,
        Schedule::AssetOrTime { timetable, .. } => {
            match kind_for(timetable, dialect, defaults, trigger)? {
                K::Assets | K::AssetOrTime(_) => {
                    return Err(TimetableError::Unsupported(
                        "nested asset timetables".into(),
                    ));
                }
                inner => K::AssetOrTime(Box::new(inner)),
            }
        }
        Schedule::Timetable { class, .. } => {
            return Err(TimetableError::Unsupported(class.clone()));
        }
    })
}
