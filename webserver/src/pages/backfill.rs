//! Backfills of a DAG (Airflow 3's "Run Backfill" dialog and Backfills tab):
//! `GET /dags/{dag_id}/backfills` lists them with progress and controls;
//! `GET /dags/{dag_id}/backfill` is the form, `POST …/backfill/dry_run`
//! shows what it would run before `POST …/backfill` creates it; `POST
//! /dags/{dag_id}/backfills/{id}/{pause|unpause|cancel}`. Everything is a
//! call into `updraft_scheduler::backfill`, which writes the audit rows.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use updraft_core::store::backfills::{self, BackfillRow, Reprocess};
use updraft_core::store::dag_pages;
use updraft_scheduler::Error as SchedError;
use updraft_scheduler::backfill::{self as service, Action as Planned, BackfillRequest};

use super::dag::{HeaderView, not_found, when};
use crate::AppState;
use crate::auth::permissions::{Action, any_allowed};
use crate::auth::session::CurrentUser;
use crate::error::{WebError, WebResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dags/{dag_id}/backfills", get(list))
        .route("/dags/{dag_id}/backfill", get(form).post(create))
        .route("/dags/{dag_id}/backfill/dry_run", post(dry_run))
        .route("/dags/{dag_id}/backfills/{id}/{control}", post(control))
}

/// One backfill as the list shows it.
struct BackfillView {
    id: i64,
    from: String,
    to: String,
    reprocess: &'static str,
    max_active_runs: i32,
    run_backwards: bool,
    by: String,
    created: String,
    /// `running`, `paused` or `completed`.
    state: &'static str,
    done: i64,
    succeeded: i64,
    total: i64,
    percent: i64,
}

impl From<BackfillRow> for BackfillView {
    fn from(b: BackfillRow) -> Self {
        let state = match (b.completed_at.is_some(), b.is_paused) {
            (true, _) => "completed",
            (false, true) => "paused",
            (false, false) => "running",
        };
        let reprocess = Reprocess::parse(&b.reprocess_behavior).unwrap_or_default();
        Self {
            id: b.id,
            from: day(b.from_date),
            to: day(b.to_date),
            reprocess: reprocess.label(),
            max_active_runs: b.max_active_runs,
            run_backwards: b.run_backwards,
            by: b.triggering_user.unwrap_or_default(),
            created: when(Some(b.created_at)),
            state,
            done: b.done,
            succeeded: b.succeeded,
            total: b.total,
            percent: (b.done * 100).checked_div(b.total).unwrap_or(100),
        }
    }
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

#[derive(Template, WebTemplate)]
#[template(path = "backfills.html")]
struct ListPage {
    username: String,
    csrf_token: String,
    dag: HeaderView,
    tab: &'static str,
    can_manage: bool,
    backfills: Vec<BackfillView>,
}

async fn header(state: &AppState, dag_id: &str) -> WebResult<Option<HeaderView>> {
    Ok(dag_pages::header(&state.pool, dag_id)
        .await?
        .map(HeaderView::from))
}

async fn list(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
) -> WebResult<Response> {
    me.check_allowed(Action::ReadDags)?;
    let Some(dag) = header(&state, &dag_id).await? else {
        return Ok(not_found(format!("DAG {dag_id} not found.")));
    };
    let mut conn = state.pool.acquire().await?;
    let rows = backfills::list(&mut conn, Some(&dag_id)).await?;
    Ok(ListPage {
        can_manage: any_allowed(&me.user.roles, Action::ManageBackfills),
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        dag,
        tab: "backfills",
        backfills: rows.into_iter().map(BackfillView::from).collect(),
    }
    .into_response())
}

/// The form's fields, as submitted (strings, shown back on errors).
#[derive(Debug, Clone, Deserialize)]
struct BackfillForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    from_date: String,
    #[serde(default)]
    to_date: String,
    #[serde(default)]
    reprocess_behavior: String,
    #[serde(default)]
    max_active_runs: String,
    #[serde(default)]
    run_backwards: Option<String>,
    #[serde(default)]
    conf: String,
}

impl Default for BackfillForm {
    fn default() -> Self {
        Self {
            csrf_token: String::new(),
            from_date: String::new(),
            to_date: String::new(),
            reprocess_behavior: Reprocess::None.as_str().to_owned(),
            max_active_runs: service::DEFAULT_MAX_ACTIVE_RUNS.to_string(),
            run_backwards: None,
            conf: String::new(),
        }
    }
}

struct ReprocessOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// One date of a dry run.
struct DryRow {
    date: String,
    what: String,
    runs: bool,
}

struct DryView {
    count: usize,
    rows: Vec<DryRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "backfill_form.html")]
struct FormPage {
    username: String,
    csrf_token: String,
    dag: HeaderView,
    tab: &'static str,
    form: BackfillForm,
    options: Vec<ReprocessOption>,
    dry: Option<DryView>,
    error: Option<String>,
}

impl FormPage {
    fn new(me: &CurrentUser, dag: HeaderView, form: BackfillForm) -> Self {
        let options = [Reprocess::None, Reprocess::Failed, Reprocess::Completed]
            .into_iter()
            .map(|r| ReprocessOption {
                value: r.as_str(),
                label: r.label(),
                selected: r.as_str() == form.reprocess_behavior,
            })
            .collect();
        Self {
            username: me.user.username.clone(),
            csrf_token: me.user.csrf_token.clone(),
            dag,
            tab: "backfills",
            form,
            options,
            dry: None,
            error: None,
        }
    }
}

async fn form(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
) -> WebResult<Response> {
    me.check_allowed(Action::ManageBackfills)?;
    let Some(dag) = header(&state, &dag_id).await? else {
        return Ok(not_found(format!("DAG {dag_id} not found.")));
    };
    Ok(FormPage::new(&me, dag, BackfillForm::default()).into_response())
}

/// A date from the form: ISO 8601 (UTC without an offset), a
/// `datetime-local` value, or a day.
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(Some(dt)) = updraft_core::timetable::parse_date("date", Some(text)) {
        return Some(dt);
    }
    for fmt in ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(dt.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// The request the form describes, or what is wrong with it.
fn request(dag_id: &str, f: &BackfillForm) -> Result<BackfillRequest, String> {
    let from_date = parse_date(&f.from_date)
        .ok_or_else(|| format!("From date {:?} is not a date.", f.from_date))?;
    let to_date =
        parse_date(&f.to_date).ok_or_else(|| format!("To date {:?} is not a date.", f.to_date))?;
    let reprocess = Reprocess::parse(&f.reprocess_behavior)
        .ok_or_else(|| format!("Unknown reprocess behaviour {:?}.", f.reprocess_behavior))?;
    let max_active_runs = f
        .max_active_runs
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| "Max active runs must be a whole number of at least 1.".to_owned())?;
    let conf_text = f.conf.trim();
    let dag_run_conf = if conf_text.is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_str::<Value>(conf_text) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return Err("The conf must be a JSON object.".to_owned()),
            Err(e) => return Err(format!("The conf is not valid JSON: {e}")),
        }
    };
    Ok(BackfillRequest {
        dag_id: dag_id.to_owned(),
        from_date,
        to_date,
        run_backwards: f.run_backwards.as_deref() == Some("true"),
        dag_run_conf,
        reprocess,
        max_active_runs,
    })
}

/// A refusal of the service as a status and a sentence; `Err`: internal.
fn refusal(e: SchedError) -> WebResult<(StatusCode, String)> {
    let status = match &e {
        SchedError::DagNotFound(_) | SchedError::BackfillNotFound(_) => StatusCode::NOT_FOUND,
        SchedError::BackfillRunning(_) | SchedError::BackfillCompleted(_) => StatusCode::CONFLICT,
        SchedError::NoSchedule(_)
        | SchedError::InvalidBackfill(_)
        | SchedError::InvalidConf(_)
        | SchedError::Timetable { .. } => StatusCode::BAD_REQUEST,
        _ => return Err(WebError::Internal(e.to_string())),
    };
    Ok((status, e.to_string()))
}

/// Checks, loads the header and reads the request; `Err(response)` when
/// the page is to be shown again with an error.
async fn prepare(
    state: &AppState,
    me: &CurrentUser,
    dag_id: &str,
    f: &BackfillForm,
) -> WebResult<Result<(HeaderView, BackfillRequest), Response>> {
    me.check_csrf(&f.csrf_token)?;
    me.check_allowed(Action::ManageBackfills)?;
    let Some(dag) = header(state, dag_id).await? else {
        return Ok(Err(not_found(format!("DAG {dag_id} not found."))));
    };
    match request(dag_id, f) {
        Ok(req) => Ok(Ok((dag, req))),
        Err(message) => {
            let mut page = FormPage::new(me, dag, f.clone());
            page.error = Some(message);
            Ok(Err((StatusCode::BAD_REQUEST, page).into_response()))
        }
    }
}

async fn dry_run(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
    Form(f): Form<BackfillForm>,
) -> WebResult<Response> {
    let (dag, req) = match prepare(&state, &me, &dag_id, &f).await? {
        Ok(ready) => ready,
        Err(response) => return Ok(response),
    };
    let mut page = FormPage::new(&me, dag, f);
    match service::dry_run(&state.pool, &state.schedule, &req, Utc::now()).await {
        Ok(planned) => {
            page.dry = Some(DryView {
                count: planned.iter().filter(|p| p.runs()).count(),
                rows: planned
                    .iter()
                    .map(|p| DryRow {
                        date: day(p.logical_date),
                        what: match &p.action {
                            Planned::Create => "new run".to_owned(),
                            Planned::Rerun { run_id } => format!("clear and re-run {run_id}"),
                            Planned::Skip { run_id, reason } => {
                                format!("skipped ({}): {run_id}", reason.as_str())
                            }
                        },
                        runs: p.runs(),
                    })
                    .collect(),
            });
            Ok(page.into_response())
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            page.error = Some(message);
            Ok((status, page).into_response())
        }
    }
}

async fn create(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
    Form(f): Form<BackfillForm>,
) -> WebResult<Response> {
    let (dag, req) = match prepare(&state, &me, &dag_id, &f).await? {
        Ok(ready) => ready,
        Err(response) => return Ok(response),
    };
    match service::create(
        &state.pool,
        &state.schedule,
        &req,
        &me.user.username,
        Utc::now(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/dags/{}/backfills", dag.dag_href)).into_response()),
        Err(e) => {
            let (status, message) = refusal(e)?;
            let mut page = FormPage::new(&me, dag, f);
            page.error = Some(message);
            Ok((status, page).into_response())
        }
    }
}

async fn control(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path((dag_id, id, what)): Path<(String, i64, String)>,
    Form(f): Form<super::CsrfForm>,
) -> WebResult<Response> {
    me.check_csrf(&f.csrf_token)?;
    me.check_allowed(Action::ManageBackfills)?;
    let mut conn = state.pool.acquire().await?;
    let belongs = backfills::get(&mut conn, id)
        .await?
        .is_some_and(|b| b.dag_id == dag_id);
    drop(conn);
    if !belongs {
        return Ok(not_found(format!(
            "Backfill {id} of DAG {dag_id} not found."
        )));
    }
    let by = &me.user.username;
    let done = match what.as_str() {
        "pause" => service::pause(&state.pool, id, by).await,
        "unpause" => service::unpause(&state.pool, id, by).await,
        "cancel" => service::cancel(&state.pool, id, by, Utc::now()).await,
        _ => return Ok(not_found(format!("No such action: {what}."))),
    };
    match done {
        Ok(_) => Ok(
            Redirect::to(&format!("/dags/{}/backfills", super::dag::seg(&dag_id))).into_response(),
        ),
        Err(e) => {
            let (status, message) = refusal(e)?;
            Ok((status, message).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_dates() {
        let want = "2024-01-02T00:00:00+00:00";
        for t in ["2024-01-02", "2024-01-02T00:00", "2024-01-02T00:00:00Z"] {
            assert_eq!(
                parse_date(t).map(|d| d.to_rfc3339()).as_deref(),
                Some(want),
                "{t}"
            );
        }
        assert!(parse_date("yesterday").is_none());
    }

    #[test]
    fn bad_forms_are_explained() {
        let f = BackfillForm {
            from_date: "2024-01-01".into(),
            to_date: "2024-01-05".into(),
            ..BackfillForm::default()
        };
        assert!(request("d", &f).is_ok());
        let bad = |g: fn(&mut BackfillForm)| {
            let mut f = f.clone();
            g(&mut f);
            request("d", &f).is_err()
        };
        assert!(bad(|f| f.to_date = "x".into()));
        assert!(bad(|f| f.max_active_runs = "0".into()));
        assert!(bad(|f| f.conf = "[1]".into()));
        assert!(bad(|f| f.reprocess_behavior = "all".into()));
    }
}
