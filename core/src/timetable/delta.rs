//! `timedelta` and `dateutil.relativedelta` schedules: adding, subtracting and
//! rounding as Airflow does on UTC datetimes (`_delta.py`, `interval.py`).

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc};
use serde_json::Value;

use super::TimetableError;

/// A schedule step: a fixed `timedelta` or a calendar `relativedelta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta {
    Fixed(TimeDelta),
    Relative(RelativeDelta),
}

/// The relative and absolute fields of a `dateutil.relativedelta`, normalized
/// as its constructor does. `weekday` and `leapdays` are not supported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelativeDelta {
    pub years: i64,
    pub months: i64,
    pub days: i64,
    pub hours: i64,
    pub minutes: i64,
    pub seconds: i64,
    pub microseconds: i64,
    pub year: Option<i32>,
    pub month: Option<u32>,
    pub day: Option<u32>,
    pub hour: Option<u32>,
    pub minute: Option<u32>,
    pub second: Option<u32>,
    pub microsecond: Option<u32>,
}

impl Delta {
    /// `timedelta(seconds=s)`, rounded to the microsecond like Python.
    pub fn from_seconds(seconds: f64) -> Result<Self, TimetableError> {
        let micros = (seconds * 1e6).round();
        if !micros.is_finite() || micros.abs() > 9.0e15 {
            return Err(TimetableError::NonPositiveDelta(seconds.to_string()));
        }
        Ok(Self::Fixed(TimeDelta::microseconds(micros as i64)))
    }

    pub const ZERO: Self = Self::Fixed(TimeDelta::zero());

    /// Airflow's `validate()`: `now + delta` must be later than `now`.
    pub fn validate(&self) -> Result<(), TimetableError> {
        let reference = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(11_000);
        match self.add_to(reference) {
            Some(later) if later > reference => Ok(()),
            _ => Err(TimetableError::NonPositiveDelta(self.summary())),
        }
    }

    /// `current + delta` (pendulum adds a `timedelta` as absolute time).
    pub fn add_to(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Fixed(d) => at.checked_add_signed(*d),
            Self::Relative(rd) => rd.apply(at, 1),
        }
    }

    /// `current - delta`.
    pub fn sub_from(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Fixed(d) => at.checked_sub_signed(*d),
            Self::Relative(rd) => rd.apply(at, -1),
        }
    }

    /// `DeltaDataIntervalTimetable._round`: `at` rounded down to a multiple
    /// of the delta since the epoch (a relativedelta counts 365-day years and
    /// 30-day months). `None` where Python would divide by zero.
    pub fn round_down(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let step = match self {
            Self::Fixed(d) => d.num_microseconds()?,
            Self::Relative(rd) => {
                let secs = rd.years * 365 * 86_400
                    + rd.months * 30 * 86_400
                    + rd.days * 86_400
                    + rd.hours * 3600
                    + rd.minutes * 60
                    + rd.seconds;
                secs.checked_mul(1_000_000)?
            }
        };
        if step <= 0 {
            return None;
        }
        let ts = at.timestamp_micros();
        DateTime::from_timestamp_micros(ts - ts.rem_euclid(step))
    }

    /// What Airflow's `summary` prints: `str(timedelta)` or the
    /// relativedelta's `repr`.
    pub fn summary(&self) -> String {
        match self {
            Self::Fixed(d) => timedelta_str(*d),
            Self::Relative(rd) => rd.repr(),
        }
    }
}

/// `str(timedelta)`: `1 day, 0:00:00`, `6:00:00`, `-1 day, 23:59:59.500000`.
pub fn timedelta_str(d: TimeDelta) -> String {
    let micros = d.num_microseconds().unwrap_or(i64::MAX);
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    let (secs, us) = (rest / 1_000_000, rest % 1_000_000);
    let mut out = String::new();
    if days != 0 {
        let plural = if days.abs() == 1 { "" } else { "s" };
        out.push_str(&format!("{days} day{plural}, "));
    }
    out.push_str(&format!(
        "{}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ));
    if us != 0 {
        out.push_str(&format!(".{us:06}"));
    }
    out
}

impl RelativeDelta {
    /// Reads the contract's `{"months": 1, "day": 1, ...}` (the tagged
    /// `relativedelta` value: non-zero fields only, `weeks` folded into days).
    pub fn from_json(value: &Value) -> Result<Self, TimetableError> {
        let bad = || TimetableError::InvalidRelativeDelta(value.to_string());
        let map = value.as_object().ok_or_else(bad)?;
        let mut rd = Self::default();
        for (key, v) in map {
            let n = v.as_i64().ok_or_else(bad)?;
            let abs = |max: i64| u32::try_from(n).ok().filter(|x| i64::from(*x) <= max);
            match key.as_str() {
                "years" => rd.years = n,
                "months" => rd.months = n,
                "weeks" => rd.days += 7 * n,
                "days" => rd.days += n,
                "hours" => rd.hours = n,
                "minutes" => rd.minutes = n,
                "seconds" => rd.seconds = n,
                "microseconds" => rd.microseconds = n,
                "year" => rd.year = Some(i32::try_from(n).map_err(|_| bad())?),
                "month" => rd.month = Some(abs(12).filter(|m| *m >= 1).ok_or_else(bad)?),
                "day" => rd.day = Some(abs(31).filter(|d| *d >= 1).ok_or_else(bad)?),
                "hour" => rd.hour = Some(abs(23).ok_or_else(bad)?),
                "minute" => rd.minute = Some(abs(59).ok_or_else(bad)?),
                "second" => rd.second = Some(abs(59).ok_or_else(bad)?),
                "microsecond" => rd.microsecond = Some(abs(999_999).ok_or_else(bad)?),
                _ => return Err(bad()),
            }
        }
        rd.fix();
        Ok(rd)
    }

    /// `relativedelta._fix`: carry overflowing units into the next larger one.
    fn fix(&mut self) {
        fn carry(small: &mut i64, big: &mut i64, base: i64) {
            if small.abs() > base - 1 {
                let s = small.signum();
                let (div, rem) = ((*small * s).div_euclid(base), (*small * s).rem_euclid(base));
                *small = rem * s;
                *big += div * s;
            }
        }
        carry(&mut self.microseconds, &mut self.seconds, 1_000_000);
        carry(&mut self.seconds, &mut self.minutes, 60);
        carry(&mut self.minutes, &mut self.hours, 60);
        carry(&mut self.hours, &mut self.days, 24);
        carry(&mut self.months, &mut self.years, 12);
    }

    /// `at + sign * self` (`relativedelta.__add__`; subtraction negates the
    /// relative fields and keeps the absolute ones).
    fn apply(&self, at: DateTime<Utc>, sign: i64) -> Option<DateTime<Utc>> {
        let n = at.naive_utc();
        let mut year = i64::from(self.year.unwrap_or(n.year())) + sign * self.years;
        let mut month = i64::from(self.month.unwrap_or(n.month()));
        if self.months != 0 {
            month += sign * self.months;
            if month > 12 {
                year += 1;
                month -= 12;
            } else if month < 1 {
                year -= 1;
                month += 12;
            }
        }
        let (year, month) = (i32::try_from(year).ok()?, u32::try_from(month).ok()?);
        let day = self.day.unwrap_or(n.day()).min(days_in_month(year, month)?);
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        let time = n
            .time()
            .with_hour(self.hour.unwrap_or(n.hour()))?
            .with_minute(self.minute.unwrap_or(n.minute()))?
            .with_second(self.second.unwrap_or(n.second()))?;
        let time = match self.microsecond {
            Some(us) => time.with_nanosecond(us * 1000)?,
            None => time,
        };
        let shift = TimeDelta::try_days(sign * self.days)?
            + TimeDelta::try_hours(sign * self.hours)?
            + TimeDelta::try_minutes(sign * self.minutes)?
            + TimeDelta::try_seconds(sign * self.seconds)?
            + TimeDelta::microseconds(sign * self.microseconds);
        date.and_time(time).and_utc().checked_add_signed(shift)
    }

    /// `repr(relativedelta)`: `relativedelta(months=+1, days=+2)`.
    pub fn repr(&self) -> String {
        let relative = [
            ("years", self.years),
            ("months", self.months),
            ("days", self.days),
            ("hours", self.hours),
            ("minutes", self.minutes),
            ("seconds", self.seconds),
            ("microseconds", self.microseconds),
        ];
        let absolute = [
            ("year", self.year.map(i64::from)),
            ("month", self.month.map(i64::from)),
            ("day", self.day.map(i64::from)),
            ("hour", self.hour.map(i64::from)),
            ("minute", self.minute.map(i64::from)),
            ("second", self.second.map(i64::from)),
            ("microsecond", self.microsecond.map(i64::from)),
        ];
        let parts: Vec<String> = relative
            .iter()
            .filter(|(_, v)| *v != 0)
            .map(|(k, v)| format!("{k}={v:+}"))
            .chain(
                absolute
                    .iter()
                    .filter_map(|(k, v)| v.map(|v| format!("{k}={v}"))),
            )
            .collect();
        format!("relativedelta({})", parts.join(", "))
    }
}

fn days_in_month(year: i32, month: u32) -> Option<u32> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    u32::try_from((next - first).num_days()).ok()
}
