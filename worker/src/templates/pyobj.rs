//! Python-flavoured values for templates: `datetime`/pendulum `DateTime` and
//! `timedelta` objects, and the `str()`/`repr()` rendering Airflow's Jinja
//! output uses (`None`, `True`, `['a', 1]`, `{'k': 'v'}`), plus conversion
//! between `serde_json::Value` and template values.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Timelike};
use minijinja::value::{Kwargs, Object, ObjectRepr, Value, ValueKind, from_args};
use minijinja::{Error, ErrorKind, State};

/// A Python `datetime` or pendulum `DateTime`. Both print
/// with a space separator: pendulum 3 (in both reference venvs, Airflow
/// 2.10.5 and 3.1.8) prints `2024-01-01 00:00:00+00:00`; pendulum 2 used `T`.
#[derive(Debug, Clone)]
pub struct PyDateTime {
    pub naive: NaiveDateTime,
    pub offset: Option<FixedOffset>,
}

impl PyDateTime {
    pub fn aware(dt: DateTime<FixedOffset>) -> Self {
        Self {
            naive: dt.naive_local(),
            offset: Some(*dt.offset()),
        }
    }

    /// `isoformat(sep)`: microseconds only when non-zero, `+HH:MM` offset.
    pub fn isoformat(&self, sep: char) -> String {
        let micros = self.naive.nanosecond() / 1000;
        let mut s = self.naive.format("%Y-%m-%d").to_string();
        s.push(sep);
        s.push_str(&self.naive.format("%H:%M:%S").to_string());
        if micros != 0 {
            s.push_str(&format!(".{micros:06}"));
        }
        if let Some(off) = self.offset {
            let secs = off.local_minus_utc();
            let sign = if secs < 0 { '-' } else { '+' };
            let abs = secs.abs();
            s.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60));
        }
        s
    }

    /// Python's `strftime`; `%z` on a naive value is empty as in Python.
    pub fn strftime(&self, fmt: &str) -> String {
        match self.offset {
            Some(off) => match self.naive.and_local_timezone(off).single() {
                Some(dt) => dt.format(fmt).to_string(),
                None => self.naive.format(fmt).to_string(),
            },
            None => self
                .naive
                .format(&fmt.replace("%z", "").replace("%Z", ""))
                .to_string(),
        }
    }

    /// Python's `datetime.replace(year=…, …, microsecond=…)`; a value out of
    /// range is Python's `ValueError`.
    fn replaced(&self, kwargs: &Kwargs) -> Result<Self, Error> {
        use chrono::{Datelike, NaiveDate, NaiveTime};
        let n = &self.naive;
        let get = |name: &str, current: u32| -> Result<u32, Error> {
            Ok(kwargs.get::<Option<u32>>(name)?.unwrap_or(current))
        };
        let year = kwargs.get::<Option<i32>>("year")?.unwrap_or(n.year());
        let (month, day) = (get("month", n.month())?, get("day", n.day())?);
        let (hour, minute) = (get("hour", n.hour())?, get("minute", n.minute())?);
        let second = get("second", n.second())?;
        let micro = get("microsecond", n.nanosecond() / 1000)?;
        kwargs.assert_all_used()?;
        let out_of_range =
            || Error::new(ErrorKind::InvalidOperation, "replace(): value out of range");
        let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(out_of_range)?;
        let time =
            NaiveTime::from_hms_micro_opt(hour, minute, second, micro).ok_or_else(out_of_range)?;
        Ok(Self {
            naive: date.and_time(time),
            ..self.clone()
        })
    }

    fn shifted(&self, delta: Duration) -> Self {
        Self {
            naive: self.naive + delta,
            ..self.clone()
        }
    }
}

/// Reads `weeks`, `days`, `hours`, `minutes`, `seconds`, `milliseconds`,
/// `microseconds` keyword arguments into one duration (Python's timedelta).
pub fn duration_from_kwargs(kwargs: &Kwargs) -> Result<Duration, Error> {
    let mut micros = 0f64;
    for (name, scale) in [
        ("weeks", 604_800e6),
        ("days", 86_400e6),
        ("hours", 3_600e6),
        ("minutes", 60e6),
        ("seconds", 1e6),
        ("milliseconds", 1e3),
        ("microseconds", 1.0),
    ] {
        if let Some(v) = kwargs.get::<Option<f64>>(name)? {
            micros += v * scale;
        }
    }
    kwargs.assert_all_used()?;
    Ok(Duration::microseconds(micros.round() as i64))
}

impl fmt::Display for PyDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.isoformat(' '))
    }
}

impl Object for PyDateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let n = &self.naive;
        Some(Value::from(match key.as_str()? {
            "year" => i64::from(chrono::Datelike::year(n)),
            "month" => i64::from(chrono::Datelike::month(n)),
            "day" => i64::from(chrono::Datelike::day(n)),
            "hour" => i64::from(n.hour()),
            "minute" => i64::from(n.minute()),
            "second" => i64::from(n.second()),
            "microsecond" => i64::from(n.nanosecond() / 1000),
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (fmt,): (String,) = from_args(args)?;
                Ok(Value::from(self.strftime(&fmt)))
            }
            "isoformat" => {
                let (sep,): (Option<String>,) = from_args(args)?;
                let sep = sep.and_then(|s| s.chars().next()).unwrap_or('T');
                Ok(Value::from(self.isoformat(sep)))
            }
            "timestamp" => {
                let off = self.offset.map_or(0, |o| o.local_minus_utc());
                let secs = self.naive.and_utc().timestamp() - i64::from(off);
                Ok(Value::from(secs as f64))
            }
            "date" => Ok(Value::from(self.naive.format("%Y-%m-%d").to_string())),
            "replace" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                Ok(Value::from_object(self.replaced(&kwargs)?))
            }
            // Monday is 0 (Python's `weekday()`), 1 for `isoweekday()`.
            "weekday" | "isoweekday" => {
                let from_monday = chrono::Datelike::weekday(&self.naive).num_days_from_monday();
                let base = if method == "weekday" { 0 } else { 1 };
                Ok(Value::from(i64::from(from_monday) + base))
            }
            // pendulum's add()/subtract(); Jinja has no `+` on objects.
            "add" | "subtract" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let d = duration_from_kwargs(&kwargs)?;
                let d = if method == "add" { d } else { -d };
                Ok(Value::from_object(self.shifted(d)))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A Python `timedelta`; `str()` is `7 days, 0:00:00` / `0:05:00`.
#[derive(Debug, Clone)]
pub struct PyTimedelta(pub Duration);

impl fmt::Display for PyTimedelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.0.num_microseconds().unwrap_or(i64::MAX);
        let days = total.div_euclid(86_400_000_000);
        let rest = total.rem_euclid(86_400_000_000);
        let (secs, micros) = (rest / 1_000_000, rest % 1_000_000);
        if days != 0 {
            let plural = if days.abs() == 1 { "" } else { "s" };
            write!(f, "{days} day{plural}, ")?;
        }
        write!(
            f,
            "{}:{:02}:{:02}",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        )?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        Ok(())
    }
}

impl Object for PyTimedelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let total = self.0.num_microseconds()?;
        match key.as_str()? {
            "days" => Some(Value::from(total.div_euclid(86_400_000_000))),
            "seconds" => Some(Value::from(total.rem_euclid(86_400_000_000) / 1_000_000)),
            "microseconds" => Some(Value::from(total.rem_euclid(1_000_000))),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "total_seconds" => {
                let micros = self.0.num_microseconds().unwrap_or(i64::MAX);
                Ok(Value::from(micros as f64 / 1e6))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Python's `str(value)`: what `{{ value }}` prints in Airflow.
pub fn py_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::String => value.as_str().unwrap_or_default().to_string(),
        _ => py_repr(value),
    }
}

/// Python's `repr(value)` (strings quoted as Python quotes them).
pub fn py_repr(value: &Value) -> String {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => "None".into(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.into(),
        ValueKind::String => quote(value.as_str().unwrap_or_default()),
        ValueKind::Number => {
            let s = value.to_string();
            if value.as_i64().is_none() && !s.contains(['.', 'e', 'n', 'i']) {
                format!("{s}.0")
            } else {
                s
            }
        }
        ValueKind::Seq => {
            let items: Vec<String> = value
                .try_iter()
                .map(|it| it.map(|v| py_repr(&v)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map
            if value
                .as_object()
                .is_some_and(|o| o.repr() == ObjectRepr::Map) =>
        {
            let items: Vec<String> = value
                .try_iter()
                .map(|it| {
                    it.map(|k| {
                        let v = value.get_item(&k).unwrap_or_default();
                        format!("{}: {}", py_repr(&k), py_repr(&v))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", items.join(", "))
        }
        _ => value.to_string(),
    }
}

fn quote(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// A JSON value as a template value (objects keep their key order).
pub fn from_json(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::from(a.iter().map(from_json).collect::<Vec<_>>()),
        serde_json::Value::Object(m) => {
            Value::from_pairs(m.iter().map(|(k, v)| (k.as_str(), from_json(v))))
        }
    }
}

/// A template value as JSON, for passing to Python: datetimes in the tagged
/// encoding (docs/serialized-dag.md), other objects as their `str()`.
pub fn to_json(value: &Value) -> serde_json::Value {
    if let Some(d) = value.downcast_object_ref::<PyDateTime>() {
        return serde_json::json!({"__type": "datetime", "__var": d.isoformat('T')});
    }
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => serde_json::Value::Null,
        ValueKind::Bool => serde_json::Value::Bool(value.is_true()),
        ValueKind::Number => match i64::try_from(value.clone()) {
            Ok(i) => serde_json::Value::from(i),
            Err(_) => f64::try_from(value.clone())
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
        },
        ValueKind::String => {
            serde_json::Value::String(value.as_str().unwrap_or_default().to_owned())
        }
        ValueKind::Seq => serde_json::Value::Array(
            value
                .try_iter()
                .map(|items| items.map(|v| to_json(&v)).collect())
                .unwrap_or_default(),
        ),
        ValueKind::Map => serde_json::Value::Object(
            value
                .try_iter()
                .map(|keys| {
                    keys.map(|k| {
                        let v = value.get_item(&k).unwrap_or_default();
                        (py_str(&k), to_json(&v))
                    })
                    .collect()
                })
                .unwrap_or_default(),
        ),
        _ => serde_json::Value::String(py_str(value)),
    }
}
