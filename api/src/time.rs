//! Dates in and out of the API: ISO 8601 as Airflow writes them, and
//! parsing of aware datetimes from the query or body (naive ones are
//! refused, as pydantic's `AwareDatetime` does).

use chrono::{DateTime, Utc};

use crate::error::{ApiError, ApiResult};

/// Parses an aware ISO 8601 datetime at `loc`, or a 422.
pub fn parse_aware(loc: &[&str], raw: &str) -> ApiResult<DateTime<Utc>> {
    let raw = raw.trim();
    // An offset's `+` left unencoded in a query string arrives as a space.
    let fixed = match raw.rfind(' ') {
        Some(i) if i >= 19 => format!("{}+{}", &raw[..i], &raw[i + 1..]),
        _ => raw.to_owned(),
    };
    DateTime::parse_from_rfc3339(&fixed)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::invalid(
                loc,
                "datetime_parsing",
                format!("Input should be a valid datetime with a time zone, got {raw:?}"),
            )
        })
}
