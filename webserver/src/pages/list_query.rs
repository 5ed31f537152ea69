//! Reading a list page's query string (`/dag_runs`, `/task_instances`):
//! filters, dates, and the page (`limit`, `offset`, `order`). A value that
//! cannot be read is the client's mistake: 400 with a sentence that says
//! which and why, never a silent default.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use updraft_core::store::browse::{Order, Paging};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// The query string's pairs; an empty value counts as absent (an empty
/// form field).
#[derive(Debug, Default)]
pub struct ListQuery {
    pairs: Vec<(String, String)>,
}

impl ListQuery {
    pub fn parse(raw: Option<&str>) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
                .collect(),
        }
    }

    pub fn text(&self, key: &str) -> Option<String> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// A value that must be one of `allowed`.
    pub fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<String>, String> {
        match self.text(key) {
            Some(v) if !allowed.contains(&v.as_str()) => Err(format!(
                "{key} must be one of {}; got {v:?}.",
                allowed.join(", ")
            )),
            v => Ok(v),
        }
    }

    /// A date: `2026-01-31`, `2026-01-31T08:00` (a date-time field) or RFC
    /// 3339; times without an offset are UTC. A bare date as an upper bound
    /// (`end_of_day`) means the end of that day.
    pub fn date(&self, key: &str, end_of_day: bool) -> Result<Option<DateTime<Utc>>, String> {
        let Some(v) = self.text(key) else {
            return Ok(None);
        };
        if let Ok(t) = DateTime::parse_from_rfc3339(&v) {
            return Ok(Some(t.with_timezone(&Utc)));
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(&v, format) {
                return Ok(Some(t.and_utc()));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
            let t = if end_of_day {
                d.and_hms_opt(23, 59, 59)
            } else {
                d.and_hms_opt(0, 0, 0)
            };
            return Ok(t.map(|t| t.and_utc()));
        }
        Err(format!(
            "{key} is not a date: {v:?} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)."
        ))
    }

    fn int(&self, key: &str) -> Result<Option<i64>, String> {
        self.text(key)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| format!("{key} must be a whole number; got {v:?}."))
            })
            .transpose()
    }

    /// `limit` (1..=500, default 50), `offset` (≥ 0), `order` (`desc`, the
    /// default, or `asc`).
    pub fn paging(&self) -> Result<Paging, String> {
        let limit = self.int("limit")?.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(format!(
                "limit must be between 1 and {MAX_LIMIT}; got {limit}."
            ));
        }
        let offset = self.int("offset")?.unwrap_or(0);
        if offset < 0 {
            return Err(format!("offset must not be negative; got {offset}."));
        }
        let order = match self.one_of("order", &["desc", "asc"])?.as_deref() {
            Some("asc") => Order::OldestFirst,
            _ => Order::NewestFirst,
        };
        Ok(Paging {
            limit,
            offset,
            order,
        })
    }

    /// This query with `offset` replaced (the pager's links), encoded.
    pub fn with_offset(&self, offset: i64) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if k != "offset" {
                s.append_pair(k, v);
            }
        }
        s.append_pair("offset", &offset.to_string());
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_defaults_and_bounds() {
        let p = ListQuery::parse(None).paging();
        assert_eq!(
            p,
            Ok(Paging {
                limit: 50,
                offset: 0,
                order: Order::NewestFirst
            })
        );
        let p = ListQuery::parse(Some("limit=10&offset=20&order=asc")).paging();
        assert_eq!(
            p.map(|p| (p.limit, p.offset, p.order)),
            Ok((10, 20, Order::OldestFirst))
        );
        for bad in ["limit=0", "limit=501", "limit=x", "offset=-1", "order=up"] {
            assert!(ListQuery::parse(Some(bad)).paging().is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_in_the_forms_a_page_sends() {
        let q = ListQuery::parse(Some(
            "a=2026-01-31&b=2026-01-31T08:30&c=2026-01-31T08:30:00%2B02:00&d=31/01/2026",
        ));
        let day = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .ok()
        };
        assert_eq!(q.date("a", false), Ok(day("2026-01-31T00:00:00Z")));
        assert_eq!(q.date("a", true), Ok(day("2026-01-31T23:59:59Z")));
        assert_eq!(q.date("b", false), Ok(day("2026-01-31T08:30:00Z")));
        assert_eq!(q.date("c", false), Ok(day("2026-01-31T06:30:00Z")));
        assert!(q.date("d", false).is_err());
        assert_eq!(q.date("missing", false), Ok(None));
    }

    #[test]
    fn pager_links_keep_the_filters() {
        let q = ListQuery::parse(Some("dag_id=a+b&offset=50&state="));
        assert_eq!(q.with_offset(100), "dag_id=a+b&offset=100");
    }
}
