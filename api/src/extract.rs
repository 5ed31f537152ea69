//! The API's extractors: axum's `Json`, `Path` and `Query` whose rejections
//! become [`ApiError`]s (422 with `loc`), and [`Params`] for query strings
//! with repeated keys (`tags=a&tags=b`, as Airflow's clients send lists).

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;

use crate::error::{ApiError, ApiResult};

/// A JSON body; a bad one is a 422 (or 415 without a JSON content type).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Body<T>(pub T);

/// Path segments; a segment of the wrong type is a 422.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct PathOf<T>(pub T);

/// A query string as its pairs, in order, keys repeated as sent.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        // PostgreSQL stores no NUL in text: refused here, not as a 500.
        if let Some((k, _)) = pairs
            .iter()
            .find(|(k, v)| v.contains('\0') || k.contains('\0'))
        {
            return Err(ApiError::invalid(
                &["query", k.as_str()],
                "string_type",
                "Input should not contain a NUL character",
            ));
        }
        Ok(Self(pairs))
    }
}

impl Params {
    /// The pairs passed through `f`: how `/api/v1` hands Airflow 2's
    /// parameter names to the shared handlers.
    pub(crate) fn map(self, f: impl Fn(String, String) -> (String, String)) -> Self {
        Self(self.0.into_iter().map(|(k, v)| f(k, v)).collect())
    }

    /// The last value of `key` (as FastAPI takes a scalar).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// `key` parsed as `T`; a value that does not parse is a 422 naming it.
    pub fn parse<T: std::str::FromStr>(&self, key: &str, kind: &str) -> ApiResult<Option<T>> {
        match self.get(key) {
            None => Ok(None),
            Some(raw) => raw.trim().parse().map(Some).map_err(|_| {
                ApiError::invalid(
                    &["query", key],
                    kind,
                    format!("Input should be a valid {}, got {raw:?}", kind_word(kind)),
                )
            }),
        }
    }

    /// A boolean as pydantic reads it (`true/false/1/0/yes/no/on/off`).
    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) => match v.as_str() {
                "true" | "1" | "yes" | "on" | "t" | "y" => Ok(Some(true)),
                "false" | "0" | "no" | "off" | "f" | "n" => Ok(Some(false)),
                _ => Err(ApiError::invalid(
                    &["query", key],
                    "bool_parsing",
                    format!("Input should be a valid boolean, got {v:?}"),
                )),
            },
        }
    }
}

fn kind_word(kind: &str) -> &str {
    match kind {
        "int_parsing" => "integer",
        "datetime_parsing" => "datetime",
        _ => "value",
    }
}

/// Airflow's paging: `limit` (default 50, at most 100 as `[api]
/// maximum_page_limit`) and `offset` (default 0), both non-negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

pub const DEFAULT_PAGE_LIMIT: i64 = 50;
pub const MAXIMUM_PAGE_LIMIT: i64 = 100;

impl Page {
    pub fn from_params(p: &Params) -> ApiResult<Self> {
        let limit = p.parse::<i64>("limit", "int_parsing")?;
        let offset = p.parse::<i64>("offset", "int_parsing")?.unwrap_or(0);
        for (key, value) in [("limit", limit.unwrap_or(0)), ("offset", offset)] {
            if value < 0 {
                return Err(ApiError::invalid(
                    &["query", key],
                    "greater_than_equal",
                    "Input should be greater than or equal to 0",
                ));
            }
        }
        Ok(Self {
            limit: limit.unwrap_or(DEFAULT_PAGE_LIMIT).min(MAXIMUM_PAGE_LIMIT),
            offset,
        })
    }
}

/// Airflow's `order_by`: a column name, `-` in front for descending.
/// `parse` maps the name to the store's ordering; an unknown one is a 400
/// with Airflow's message.
pub fn order_by<T>(
    p: &Params,
    default: T,
    parse: impl Fn(&str) -> Option<T>,
) -> ApiResult<(T, bool)> {
    let Some(raw) = p.get("order_by").map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok((default, false));
    };
    let (name, descending) = match raw.strip_prefix('-') {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    parse(name).map(|o| (o, descending)).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "Ordering with '{name}' is disallowed or the attribute does not exist on the model"
        ))
    })
}
