//! Airflow's `CronMixin` (`airflow/timetables/_cron.py`): cron times in a
//! timezone, with its DST behaviour reproduced exactly.
//!
//! Airflow hands croniter the *naive local* time and makes the answer aware
//! again with `fold=1`: a wall time the clock skips is read with the offset
//! from before the change (02:30 becomes 03:30 summer time), a repeated wall
//! time means its second occurrence. Crons that fire every hour instead add
//! the naive difference to the aware instant, so they neither skip nor repeat
//! the changed hour. Both paths are kept, because the run dates depend on them.

use std::str::FromStr;

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::TimetableError;

/// `airflow.utils.dates.cron_presets`, plus croniter's own two aliases.
pub const CRON_PRESETS: [(&str, &str); 8] = [
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@quarterly", "0 0 1 */3 *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];

/// A timezone as the serialized DAG names it: an IANA name, `UTC`, or a
/// fixed offset such as `+02:00` (pendulum's `FixedTimezone`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Named(Tz),
    Fixed(FixedOffset),
}

impl Zone {
    pub fn parse(name: &str) -> Result<Self, TimetableError> {
        if let Ok(tz) = Tz::from_str(name) {
            return Ok(Self::Named(tz));
        }
        if name.eq_ignore_ascii_case("utc") || name.eq_ignore_ascii_case("z") {
            return Ok(Self::Named(Tz::UTC));
        }
        parse_offset(name)
            .map(Self::Fixed)
            .ok_or_else(|| TimetableError::UnknownTimezone(name.to_owned()))
    }

    /// `make_naive(value, tz)`: the wall clock time at `at`.
    pub fn naive(&self, at: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Self::Named(tz) => at.with_timezone(tz).naive_local(),
            Self::Fixed(off) => at.with_timezone(off).naive_local(),
        }
    }

    /// `make_aware(value, tz)`, which sets `fold=1`: the later instant of a
    /// repeated wall time; a skipped wall time read with the offset in force
    /// before the clock jumped.
    pub fn aware(&self, naive: NaiveDateTime) -> DateTime<Utc> {
        match self {
            Self::Fixed(off) => {
                (naive - TimeDelta::seconds(off.local_minus_utc().into())).and_utc()
            }
            Self::Named(tz) => match tz.from_local_datetime(&naive) {
                LocalResult::Single(dt) => dt.to_utc(),
                LocalResult::Ambiguous(a, b) => a.to_utc().max(b.to_utc()),
                LocalResult::None => {
                    // A gap is never longer than a day: the offset a day
                    // earlier is the one in force before the jump.
                    let before = tz
                        .offset_from_utc_datetime(&(naive - TimeDelta::days(1)))
                        .fix()
                        .local_minus_utc();
                    (naive - TimeDelta::seconds(before.into())).and_utc()
                }
            },
        }
    }

    pub fn name(&self) -> String {
        match self {
            Self::Named(tz) => tz.name().to_owned(),
            Self::Fixed(off) => off.to_string(),
        }
    }
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * secs)
}

/// A parsed cron expression in a timezone (Airflow's `CronMixin`).
#[derive(Debug, Clone)]
pub struct CronExpr {
    expression: String,
    cron: Cron,
    zone: Zone,
    every_hour: bool,
}

impl CronExpr {
    /// Parses a 5-field crontab (or a preset) the way croniter reads it. A
    /// 6-field expression is croniter's, seconds last.
    pub fn parse(expression: &str, zone: Zone) -> Result<Self, TimetableError> {
        let expression = CRON_PRESETS
            .iter()
            .find(|(preset, _)| *preset == expression)
            .map_or(expression, |(_, expr)| *expr)
            .to_owned();
        let invalid = |reason: String| TimetableError::InvalidCron {
            expr: expression.clone(),
            reason,
        };
        // croniter reads `?` as `*`. Anything else restricts its field, even
        // `*/1` or `1-31`: a restricted day of month is ORed with a
        // restricted weekday, as croner does.
        let mut fields: Vec<&str> = expression
            .split_whitespace()
            .map(|f| if f == "?" { "*" } else { f })
            .collect();
        let seconds = match fields.len() {
            5 => Seconds::Disallowed,
            6 => {
                fields.rotate_right(1);
                Seconds::Required
            }
            n => return Err(invalid(format!("expected 5 fields, found {n}"))),
        };
        let cron = CronParser::builder()
            .seconds(seconds)
            .year(Year::Disallowed)
            .sloppy_ranges(true)
            .build()
            .parse(&fields.join(" "))
            .map_err(|e| invalid(e.to_string()))?;
        let every_hour = (0..24).all(|h| cron.pattern.hour_match(h).unwrap_or(false));
        Ok(Self {
            expression,
            cron,
            zone,
            every_hour,
        })
    }

    /// The expression with presets expanded: Airflow's `summary`.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// croner's English description of the expression ("At 00:00"). Not
    /// always Airflow's wording, which comes from Python's `cron_descriptor`
    /// ("Every hour" where croner says "At minute 0 past every hour").
    pub fn describe(&self) -> String {
        self.cron.describe().trim_end_matches('.').to_owned()
    }

    /// `_get_next`: the first cron time strictly after `current`.
    pub fn get_next(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let naive = self.zone.naive(current);
        let scheduled = self.naive_next(naive)?;
        if self.every_hour {
            Some(current + (scheduled - naive))
        } else {
            Some(self.zone.aware(scheduled))
        }
    }

    /// `_get_prev`: the last cron time strictly before `current`.
    pub fn get_prev(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let naive = self.zone.naive(current);
        let scheduled = self.naive_prev(naive)?;
        if self.every_hour {
            Some(current - (naive - scheduled))
        } else {
            Some(self.zone.aware(scheduled))
        }
    }

    /// `_align_to_next`: `current` if it is a cron time, else the next one.
    pub fn align_to_next(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let next = self.get_next(current)?;
        if self.get_prev(next)? != current {
            Some(next)
        } else {
            Some(current)
        }
    }

    /// `_align_to_prev`: `current` if it is a cron time, else the previous one.
    pub fn align_to_prev(&self, current: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let prev = self.get_prev(current)?;
        if self.get_next(prev)? != current {
            Some(prev)
        } else {
            Some(current)
        }
    }

    /// croniter's `get_next` on a naive time: strictly later, to the
    /// microsecond (croner works in whole seconds).
    fn naive_next(&self, naive: NaiveDateTime) -> Option<NaiveDateTime> {
        let whole = naive.with_nanosecond(0)?;
        self.cron.find_next_occurrence(&whole, false).ok()
    }

    fn naive_prev(&self, naive: NaiveDateTime) -> Option<NaiveDateTime> {
        let whole = naive.with_nanosecond(0)?;
        let inclusive = whole != naive;
        self.cron.find_previous_occurrence(&whole, inclusive).ok()
    }
}
