//! Human in the loop: `GET /required-actions` (the open requests, then the
//! recently answered or timed-out ones),
//! `GET /required-actions/count` (the header's badge),
//! `GET /required-actions/{ti_id}` (the form) and `POST` to answer it
//! (CSRF, who may answer, write-once, audited). The rules are
//! `updraft_core::store::hitl`'s and `permissions::may_answer`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Map, Value as Json, json};
use updraft_core::store::hitl::{self, Answer, Answered, Detail};
use uuid::Uuid;

use super::dag::seg;
use crate::AppState;
use crate::auth::permissions::may_answer;
use crate::auth::session::CurrentUser;
use crate::error::{WebError, WebResult};

pub mod markdown;

/// How many closed requests the list shows.
const ANSWERED_SHOWN: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/required-actions", get(list))
        .route("/required-actions/count", get(count))
        .route("/required-actions/{ti_id}", get(show).post(respond))
}

pub(crate) struct RequestView {
    pub ti_id: String,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub subject: String,
    pub created_at: String,
    pub assigned: String,
    /// The body rendered from Markdown, safe to insert ([`markdown`]).
    pub body_html: String,
    pub ti_href: String,
}

impl From<&Detail> for RequestView {
    fn from(d: &Detail) -> Self {
        Self {
            ti_id: d.ti_id.to_string(),
            dag_id: d.dag_id.clone(),
            run_id: d.run_id.clone(),
            task_id: d.task_id.clone(),
            subject: d.subject.clone(),
            created_at: d.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            assigned: assigned_names(&d.assigned_users),
            body_html: d.body.as_deref().map(markdown::to_html).unwrap_or_default(),
            ti_href: ti_href(d),
        }
    }
}

/// The task instance page of a request.
fn ti_href(d: &Detail) -> String {
    let map = if d.map_index >= 0 {
        format!("?map_index={}", d.map_index)
    } else {
        String::new()
    };
    format!(
        "/dags/{}/runs/{}/tasks/{}{map}",
        seg(&d.dag_id),
        seg(&d.run_id),
        seg(&d.task_id)
    )
}

/// A closed request: its answer (who, when, what), or its timeout.
pub(crate) struct AnsweredView {
    pub request: RequestView,
    /// "Response received", "Timed out: defaults chosen", "No response received".
    pub state: String,
    pub by: String,
    pub at: String,
    pub chosen: String,
    /// `params_input` as compact JSON; empty when there is none.
    pub params_input: String,
}

impl From<&Detail> for AnsweredView {
    fn from(d: &Detail) -> Self {
        let at = d.responded_at.or(d.timeout_at);
        Self {
            request: RequestView::from(d),
            state: state_label(d).to_owned(),
            by: d
                .responded_by
                .as_ref()
                .and_then(|u| u.get("name").and_then(Json::as_str))
                .unwrap_or("")
                .to_owned(),
            at: at.map_or_else(String::new, |t| {
                t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
            }),
            chosen: d.chosen_options.clone().unwrap_or_default().join(", "),
            params_input: d
                .params_input
                .as_ref()
                .filter(|p| p.as_object().is_some_and(|m| !m.is_empty()))
                .map_or_else(String::new, Json::to_string),
        }
    }
}

/// A task instance's own request, on its page.
pub(crate) struct TiRequestView {
    pub request: RequestView,
    pub state: String,
    pub answer: Option<AnsweredView>,
}

impl From<&Detail> for TiRequestView {
    fn from(d: &Detail) -> Self {
        Self {
            request: RequestView::from(d),
            state: state_label(d).to_owned(),
            answer: d.is_closed().then(|| AnsweredView::from(d)),
        }
    }
}

/// Where a request stands, in Airflow's words.
pub(crate) fn state_label(d: &Detail) -> &'static str {
    match (d.responded_at.is_some(), d.timed_out) {
        (true, true) => "Timed out: defaults chosen",
        (true, false) => "Response received",
        (false, true) => "No response received",
        (false, false) => "Response required",
    }
}

fn assigned_names(users: &Json) -> String {
    users
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.get("name").and_then(Json::as_str))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Template, WebTemplate)]
#[template(path = "required_actions.html")]
struct ListPage {
    username: String,
    csrf_token: String,
    requests: Vec<RequestView>,
    answered: Vec<AnsweredView>,
}

async fn list(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
) -> WebResult<ListPage> {
    let open = hitl::list_open(&state.pool).await?;
    let closed = hitl::list_closed(&state.pool, ANSWERED_SHOWN).await?;
    Ok(ListPage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        requests: open.iter().map(RequestView::from).collect(),
        answered: closed.iter().map(AnsweredView::from).collect(),
    })
}

async fn count(State(state): State<AppState>) -> WebResult<String> {
    Ok(hitl::count_open(&state.pool).await?.to_string())
}

struct ParamView {
    name: String,
    value: String,
    description: String,
    kind: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "required_action.html")]
struct FormPage {
    username: String,
    csrf_token: String,
    request: RequestView,
    answer: Option<AnsweredView>,
    options: Vec<String>,
    multiple: bool,
    params: Vec<ParamView>,
    /// Open and this user may answer.
    can_answer: bool,
    state: String,
}

fn param_kind(p: &Json) -> String {
    p.pointer("/schema/type")
        .and_then(Json::as_str)
        .unwrap_or("string")
        .to_owned()
}

async fn show(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(ti_id): Path<Uuid>,
) -> WebResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let Some(d) = hitl::get(&mut conn, ti_id).await? else {
        return Ok((
            StatusCode::NOT_FOUND,
            "No required action for this task instance.",
        )
            .into_response());
    };
    let assigned = d.is_assigned(&me.user.user_id.to_string(), &me.user.username);
    let params = d
        .params
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, p)| ParamView {
            name: name.clone(),
            value: match p.get("value") {
                Some(Json::String(s)) => s.clone(),
                Some(Json::Null) | None => String::new(),
                Some(v) => v.to_string(),
            },
            description: p
                .get("description")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_owned(),
            kind: param_kind(p),
        })
        .collect();
    Ok(FormPage {
        can_answer: !d.is_closed()
            && d.ti_state.as_deref() == Some("deferred")
            && may_answer(&me.user.roles, assigned),
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        request: RequestView::from(&d),
        answer: d.is_closed().then(|| AnsweredView::from(&d)),
        options: d.options.clone(),
        multiple: d.multiple,
        params,
        state: state_label(&d).to_owned(),
    }
    .into_response())
}

/// The posted form: `csrf_token`, `chosen` (repeated), `param.<name>`.
struct Posted {
    csrf_token: String,
    chosen: Vec<String>,
    params: Vec<(String, String)>,
}

fn parse_form(body: &[u8]) -> Posted {
    let mut p = Posted {
        csrf_token: String::new(),
        chosen: Vec::new(),
        params: Vec::new(),
    };
    for (k, v) in url::form_urlencoded::parse(body) {
        match k.as_ref() {
            "csrf_token" => p.csrf_token = v.into_owned(),
            "chosen" => p.chosen.push(v.into_owned()),
            other => {
                if let Some(name) = other.strip_prefix("param.") {
                    p.params.push((name.to_owned(), v.into_owned()));
                }
            }
        }
    }
    p
}

/// A form value typed by its param's schema (`number`, `integer`,
/// `boolean`; anything else stays a string).
fn typed(kind: &str, v: &str) -> Result<Json, String> {
    let bad = |what: &str| format!("{v:?} is not {what}.");
    match kind {
        "integer" => v
            .trim()
            .parse::<i64>()
            .map(Json::from)
            .map_err(|_| bad("an integer")),
        "number" => v
            .trim()
            .parse::<f64>()
            .map(|f| json!(f))
            .map_err(|_| bad("a number")),
        "boolean" => Ok(Json::Bool(matches!(v, "true" | "on" | "1"))),
        _ => Ok(Json::String(v.to_owned())),
    }
}

async fn respond(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(ti_id): Path<Uuid>,
    body: axum::body::Bytes,
) -> WebResult<Response> {
    let form = parse_form(&body);
    me.check_csrf(&form.csrf_token)?;
    let mut tx = state.pool.begin().await?;
    let Some(d) = hitl::get(&mut tx, ti_id).await? else {
        return Ok((
            StatusCode::NOT_FOUND,
            "No required action for this task instance.",
        )
            .into_response());
    };
    let user_id = me.user.user_id.to_string();
    if !may_answer(&me.user.roles, d.is_assigned(&user_id, &me.user.username)) {
        return Err(WebError::Forbidden(
            "Access denied: you may not answer this required action.".to_owned(),
        ));
    }
    let mut params_input = Map::new();
    for (name, p) in d.params.as_object().into_iter().flatten() {
        let Some((_, v)) = form.params.iter().find(|(n, _)| n == name) else {
            continue;
        };
        match typed(&param_kind(p), v) {
            Ok(v) => {
                params_input.insert(name.clone(), v);
            }
            Err(why) => {
                return Ok(
                    (StatusCode::UNPROCESSABLE_ENTITY, format!("{name}: {why}")).into_response()
                );
            }
        }
    }
    let answer = Answer {
        chosen_options: form.chosen,
        params_input: Json::Object(params_input),
        responded_by: json!({"id": user_id, "name": me.user.username}),
    };
    let refused = |code: StatusCode, msg: &str| Ok((code, msg.to_owned()).into_response());
    // Answer, audit row and wake-up: the same function as the REST API's.
    match hitl::respond(&mut tx, &d, &answer, &me.user.username, "ui").await? {
        Answered::Applied => {}
        Answered::NotFound => {
            return refused(
                StatusCode::NOT_FOUND,
                "No required action for this task instance.",
            );
        }
        Answered::AlreadyAnswered => {
            return refused(
                StatusCode::CONFLICT,
                "This required action was already answered (or timed out); answers are final.",
            );
        }
        Answered::NotWaiting => {
            return refused(
                StatusCode::CONFLICT,
                "The task instance is not waiting for an answer.",
            );
        }
        Answered::Invalid(why) => return refused(StatusCode::UNPROCESSABLE_ENTITY, &why),
    }
    tx.commit().await?;
    Ok(Redirect::to("/required-actions").into_response())
}

#[cfg(test)]
mod tests {
    use super::{parse_form, typed};
    use serde_json::json;

    #[test]
    fn form_with_repeated_choices_and_params() {
        let p = parse_form(b"csrf_token=t&chosen=eu&chosen=us&param.window=night&other=x");
        assert_eq!(p.csrf_token, "t");
        assert_eq!(p.chosen, ["eu", "us"]);
        assert_eq!(p.params, [("window".to_owned(), "night".to_owned())]);
    }

    #[test]
    fn params_are_typed_by_schema() {
        assert_eq!(typed("integer", "3"), Ok(json!(3)));
        assert_eq!(typed("number", "0.5"), Ok(json!(0.5)));
        assert!(typed("integer", "x").is_err());
        assert_eq!(typed("string", "a"), Ok(json!("a")));
    }
}
