//! `GET /dags/{dag_id}/trigger`: the trigger form generated from the DAG's
//! params; `POST` checks the values against the params' schemas (errors
//! next to their fields, 400) and creates the run through
//! `scheduler::runs::trigger`, as `updraft dags trigger` does.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use updraft_core::model::params::{ParamSpec, dag_params};
use updraft_core::store::dags;
use updraft_scheduler::Error as SchedError;
use updraft_scheduler::runs::{self, ManualTrigger};

use crate::AppState;
use crate::auth::permissions::Action;
use crate::auth::session::CurrentUser;
use crate::error::WebResult;

pub fn router() -> Router<AppState> {
    Router::new().route("/dags/{dag_id}/trigger", get(form).post(submit))
}

/// The prefix of a param's form field (`param:<name>`).
const PARAM: &str = "param:";

/// How a param is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Select,
    Checkbox,
    Integer,
    Number,
    Json,
    Text,
}

impl Kind {
    fn of(p: &ParamSpec) -> Kind {
        if p.options().is_some() {
            return Kind::Select;
        }
        let types = p.types();
        let has = |t: &str| types.contains(&t);
        if types.is_empty() {
            return match &p.value {
                Value::Bool(_) => Kind::Checkbox,
                Value::Number(n) if n.is_f64() => Kind::Number,
                Value::Number(_) => Kind::Integer,
                Value::Array(_) | Value::Object(_) => Kind::Json,
                _ => Kind::Text,
            };
        }
        if has("boolean") {
            Kind::Checkbox
        } else if has("integer") {
            Kind::Integer
        } else if has("number") {
            Kind::Number
        } else if has("object") || has("array") {
            Kind::Json
        } else {
            Kind::Text
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Select => "select",
            Kind::Checkbox => "checkbox",
            Kind::Integer | Kind::Number => "number",
            Kind::Json => "json",
            Kind::Text => "text",
        }
    }
}

struct OptionView {
    value: String,
    label: String,
    selected: bool,
}

struct FieldView {
    name: String,
    kind: &'static str,
    step: &'static str,
    value: String,
    checked: bool,
    options: Vec<OptionView>,
    description: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "trigger.html")]
struct TriggerPage {
    username: String,
    csrf_token: String,
    dag_id: String,
    fields: Vec<FieldView>,
    conf: String,
    conf_error: Option<String>,
    logical_date: String,
    logical_date_error: Option<String>,
    run_id: String,
    error: Option<String>,
}

/// A JSON value as a form field shows it (strings bare, the rest as JSON).
fn shown(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn field(p: &ParamSpec, raw: Option<&str>, error: Option<String>) -> FieldView {
    let kind = Kind::of(p);
    let value = raw.map_or_else(|| shown(&p.value), str::to_owned);
    let checked = match raw {
        Some(r) => r == "true",
        None => p.value == Value::Bool(true),
    };
    let options = p
        .options()
        .map(|opts| {
            opts.iter()
                .map(|o| {
                    let json = o.to_string();
                    OptionView {
                        selected: raw.map_or(*o == p.value, |r| r == json),
                        label: shown(o),
                        value: json,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    FieldView {
        name: p.name.clone(),
        kind: kind.name(),
        step: if kind == Kind::Integer { "1" } else { "any" },
        value,
        checked,
        options,
        description: p.description.clone().unwrap_or_default(),
        error,
    }
}

async fn load_params(state: &AppState, dag_id: &str) -> WebResult<Option<Vec<ParamSpec>>> {
    Ok(dags::serialized(&state.pool, dag_id)
        .await?
        .map(|data| dag_params(&data)))
}

fn not_found(dag_id: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("DAG {dag_id} not found.")).into_response()
}

async fn form(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
) -> WebResult<Response> {
    me.check_allowed(Action::TriggerDagRuns)?;
    let Some(params) = load_params(&state, &dag_id).await? else {
        return Ok(not_found(&dag_id));
    };
    Ok(TriggerPage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        dag_id,
        fields: params.iter().map(|p| field(p, None, None)).collect(),
        conf: String::new(),
        conf_error: None,
        logical_date: String::new(),
        logical_date_error: None,
        run_id: String::new(),
        error: None,
    }
    .into_response())
}

/// A param's submitted text as a JSON value (`Err`: not of its kind).
fn read_value(p: &ParamSpec, raw: Option<&str>) -> Result<Value, String> {
    let kind = Kind::of(p);
    if kind == Kind::Checkbox {
        return Ok(Value::Bool(raw == Some("true")));
    }
    let text = raw.unwrap_or("").trim();
    if text.is_empty() {
        return Ok(Value::Null);
    }
    match kind {
        Kind::Select | Kind::Json => {
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))
        }
        Kind::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("'{text}' is not an integer")),
        Kind::Number => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("'{text}' is not a number")),
        Kind::Checkbox | Kind::Text => Ok(Value::String(raw.unwrap_or("").to_owned())),
    }
}

/// A logical date from the form: ISO 8601 (without an offset: UTC), a
/// `datetime-local` value, or a date.
fn parse_logical_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(Some(dt)) = updraft_core::timetable::parse_date("logical_date", Some(text)) {
        return Some(dt);
    }
    for fmt in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(dt.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

async fn submit(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let fields: HashMap<String, String> = pairs.into_iter().collect();
    let get = |k: &str| fields.get(k).map(String::as_str);
    me.check_csrf(get("csrf_token").unwrap_or(""))?;
    me.check_allowed(Action::TriggerDagRuns)?;
    let Some(params) = load_params(&state, &dag_id).await? else {
        return Ok(not_found(&dag_id));
    };

    let raw = |p: &ParamSpec| get(&format!("{PARAM}{}", p.name));
    let mut errors: HashMap<String, String> = HashMap::new();
    let mut conf_error = None;
    let conf_text = get("conf").unwrap_or("").trim().to_owned();
    let extra: Map<String, Value> = if conf_text.is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(&conf_text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                conf_error = Some("The conf must be a JSON object.".to_owned());
                Map::new()
            }
            Err(e) => {
                conf_error = Some(format!("The conf is not valid JSON: {e}"));
                Map::new()
            }
        }
    };
    // The params' values from their fields; keys of the JSON conf win.
    let mut conf = Map::new();
    for p in &params {
        let value = match extra.get(&p.name) {
            Some(v) => Ok(v.clone()),
            None => read_value(p, raw(p)),
        };
        match value.and_then(|v| p.check(&v).map(|()| v)) {
            Ok(v) => {
                conf.insert(p.name.clone(), v);
            }
            Err(message) => {
                errors.insert(p.name.clone(), message);
            }
        }
    }
    for (k, v) in &extra {
        conf.insert(k.clone(), v.clone());
    }
    let date_text = get("logical_date").unwrap_or("").trim().to_owned();
    let logical_date = if date_text.is_empty() {
        None
    } else {
        parse_logical_date(&date_text)
    };
    let logical_date_error = (!date_text.is_empty() && logical_date.is_none())
        .then(|| format!("'{date_text}' is not an ISO 8601 date or datetime."));
    let run_id_text = get("run_id").unwrap_or("").trim().to_owned();

    let again = |status: StatusCode,
                 errors: HashMap<String, String>,
                 conf_error: Option<String>,
                 logical_date_error: Option<String>,
                 error: Option<String>| {
        (
            status,
            TriggerPage {
                username: me.user.username.clone(),
                csrf_token: me.user.csrf_token.clone(),
                dag_id: dag_id.clone(),
                fields: params
                    .iter()
                    .map(|p| field(p, Some(raw(p).unwrap_or("")), errors.get(&p.name).cloned()))
                    .collect(),
                conf: conf_text.clone(),
                conf_error,
                logical_date: date_text.clone(),
                logical_date_error,
                run_id: run_id_text.clone(),
                error,
            },
        )
            .into_response()
    };
    if !errors.is_empty() || conf_error.is_some() || logical_date_error.is_some() {
        return Ok(again(
            StatusCode::BAD_REQUEST,
            errors,
            conf_error,
            logical_date_error,
            Some("The run was not triggered: correct the fields marked below.".to_owned()),
        ));
    }
    let req = ManualTrigger {
        dag_id: dag_id.clone(),
        conf: Value::Object(conf),
        logical_date,
        run_id: (!run_id_text.is_empty()).then(|| run_id_text.clone()),
        triggered_by: "ui",
        audit_owner: Some(me.user.username.clone()),
    };
    let refused =
        |status, message: String| Ok(again(status, HashMap::new(), None, None, Some(message)));
    match runs::trigger(&state.pool, &state.schedule, &req, Utc::now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/dags/{dag_id}/grid")).into_response()),
        Err(e @ SchedError::DagNotFound(_)) => refused(StatusCode::NOT_FOUND, e.to_string()),
        Err(e @ SchedError::RunExists { .. }) => refused(StatusCode::CONFLICT, e.to_string()),
        Err(e @ (SchedError::InvalidRunId(_) | SchedError::InvalidConf(_))) => {
            refused(StatusCode::BAD_REQUEST, e.to_string())
        }
        Err(e) => Err(crate::error::WebError::Internal(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(schema: Value, value: Value) -> ParamSpec {
        ParamSpec {
            name: "p".into(),
            value,
            description: None,
            schema: schema.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn widgets_follow_the_schema() {
        let k = |s: Value, v: Value| Kind::of(&spec(s, v));
        assert_eq!(k(json!({"enum": [1, 2]}), json!(1)), Kind::Select);
        assert_eq!(k(json!({"type": "boolean"}), json!(false)), Kind::Checkbox);
        assert_eq!(
            k(json!({"type": ["null", "integer"]}), json!(null)),
            Kind::Integer
        );
        assert_eq!(k(json!({"type": "number"}), json!(1.5)), Kind::Number);
        assert_eq!(k(json!({"type": "object"}), json!({})), Kind::Json);
        assert_eq!(k(json!({}), json!([1])), Kind::Json);
        assert_eq!(k(json!({}), json!(3)), Kind::Integer);
        assert_eq!(k(json!({"type": "string"}), json!("x")), Kind::Text);
    }

    #[test]
    fn submitted_text_becomes_json() {
        let int = spec(json!({"type": "integer"}), json!(1));
        assert_eq!(read_value(&int, Some("42")), Ok(json!(42)));
        assert!(read_value(&int, Some("4.2")).is_err());
        assert_eq!(read_value(&int, Some("")), Ok(Value::Null));
        let b = spec(json!({"type": "boolean"}), json!(true));
        assert_eq!(read_value(&b, None), Ok(json!(false)));
        let e = spec(json!({"enum": [1, "a"]}), json!(1));
        assert_eq!(read_value(&e, Some("\"a\"")), Ok(json!("a")));
        let t = spec(json!({"type": "string"}), json!("x"));
        assert_eq!(read_value(&t, Some(" hi ")), Ok(json!(" hi ")));
    }

    #[test]
    fn logical_dates() {
        let want = "2024-01-02T03:04:00+00:00";
        for t in [
            "2024-01-02T03:04",
            "2024-01-02T03:04:00Z",
            "2024-01-02T05:04:00+02:00",
        ] {
            assert_eq!(
                parse_logical_date(t).map(|d| d.to_rfc3339()).as_deref(),
                Some(want),
                "{t}"
            );
        }
        assert!(parse_logical_date("2024-01-02").is_some());
        assert!(parse_logical_date("soon").is_none());
    }
}
