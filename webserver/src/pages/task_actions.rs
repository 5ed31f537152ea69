//! Clearing and marking a task instance, each with Airflow's dry run first:
//! `GET /dags/{dag_id}/runs/{run_id}/tasks/{task_id}/clear` (or `/mark`)
//! lists the task instances the options select; `POST` to the same path
//! changes them through `scheduler::manual` (whose core functions write the
//! audit rows) and 303s to the DAG's grid.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use serde::Deserialize;
use updraft_core::store::task_instances::TiView;
use updraft_core::store::ti_state::MarkAs;
use updraft_scheduler::manual::{self, Spread};

use crate::AppState;
use crate::auth::permissions::Action;
use crate::auth::session::CurrentUser;
use crate::error::{WebError, WebResult};

const BASE: &str = "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE}/clear"), get(confirm_clear).post(clear))
        .route(&format!("{BASE}/mark"), get(confirm_mark).post(mark))
}

#[derive(Debug, Deserialize)]
struct TiPath {
    dag_id: String,
    run_id: String,
    task_id: String,
}

/// The options, as check boxes send them (present and not `false`: on).
#[derive(Debug, Default, Deserialize)]
struct Options {
    #[serde(default)]
    upstream: Option<String>,
    #[serde(default)]
    downstream: Option<String>,
    #[serde(default)]
    past: Option<String>,
    #[serde(default)]
    future: Option<String>,
    #[serde(default)]
    only_failed: Option<String>,
    /// `success` or `failed` (mark only).
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    csrf_token: String,
}

fn on(v: &Option<String>) -> bool {
    v.as_deref()
        .is_some_and(|s| !s.is_empty() && s != "false" && s != "0")
}

impl Options {
    fn spread(&self, with_only_failed: bool) -> Spread {
        Spread {
            upstream: on(&self.upstream),
            downstream: on(&self.downstream),
            past: on(&self.past),
            future: on(&self.future),
            only_failed: with_only_failed && on(&self.only_failed),
        }
    }

    fn mark_as(&self) -> Option<MarkAs> {
        match self.state.as_deref() {
            Some("success") => Some(MarkAs::Success),
            Some("failed") => Some(MarkAs::Failed),
            _ => None,
        }
    }
}

struct TiLine {
    run_id: String,
    task_id: String,
    map_index: i32,
    state: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "task_action.html")]
struct ConfirmPage {
    username: String,
    csrf_token: String,
    /// `clear` or `mark`.
    action: &'static str,
    title: String,
    post_to: String,
    dag_id: String,
    run_id: String,
    state: String,
    spread: Spread,
    tis: Vec<TiLine>,
}

/// What a request selects: `Err` is the response for an unknown DAG.
async fn select(
    state: &AppState,
    p: &TiPath,
    spread: Spread,
) -> WebResult<Result<Vec<TiView>, Response>> {
    let Some(tasks) = manual::dag_tasks(&state.pool, &p.dag_id)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
    else {
        return Ok(Err((
            StatusCode::NOT_FOUND,
            format!("DAG {} not found.", p.dag_id),
        )
            .into_response()));
    };
    let mut conn = state.pool.acquire().await?;
    let tis = manual::affected(&mut conn, &tasks, &p.dag_id, &p.run_id, &p.task_id, spread)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(Ok(tis))
}

async fn confirm_page(
    state: &AppState,
    me: CurrentUser,
    p: TiPath,
    action: &'static str,
    o: &Options,
) -> WebResult<Response> {
    me.check_allowed(Action::EditTaskInstances)?;
    let spread = o.spread(action == "clear");
    let tis = match select(state, &p, spread).await? {
        Ok(tis) => tis,
        Err(resp) => return Ok(resp),
    };
    let mark_state = o.state.clone().unwrap_or_default();
    if action == "mark" && o.mark_as().is_none() {
        return Ok((StatusCode::BAD_REQUEST, "state must be success or failed.").into_response());
    }
    let title = if action == "clear" {
        format!("Clear {}", p.task_id)
    } else {
        format!("Mark {} {mark_state}", p.task_id)
    };
    Ok(ConfirmPage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        action,
        title,
        post_to: format!(
            "/dags/{}/runs/{}/tasks/{}/{action}",
            p.dag_id, p.run_id, p.task_id
        ),
        dag_id: p.dag_id,
        run_id: p.run_id,
        state: mark_state,
        spread,
        tis: tis
            .into_iter()
            .map(|t| TiLine {
                run_id: t.run_id,
                task_id: t.task_id,
                map_index: t.map_index,
                state: t.state.unwrap_or_else(|| "none".to_owned()),
            })
            .collect(),
    }
    .into_response())
}

async fn confirm_clear(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(p): Path<TiPath>,
    Query(o): Query<Options>,
) -> WebResult<Response> {
    confirm_page(&state, me, p, "clear", &o).await
}

async fn confirm_mark(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(p): Path<TiPath>,
    Query(o): Query<Options>,
) -> WebResult<Response> {
    confirm_page(&state, me, p, "mark", &o).await
}

async fn clear(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(p): Path<TiPath>,
    Form(o): Form<Options>,
) -> WebResult<Response> {
    me.check_csrf(&o.csrf_token)?;
    me.check_allowed(Action::EditTaskInstances)?;
    let tis = match select(&state, &p, o.spread(true)).await? {
        Ok(tis) => tis,
        Err(resp) => return Ok(resp),
    };
    if !tis.is_empty() {
        let tasks = manual::dag_tasks(&state.pool, &p.dag_id)
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?
            .ok_or_else(|| WebError::Internal(format!("DAG {} vanished", p.dag_id)))?;
        manual::clear(&state.pool, &tasks, &p.dag_id, &tis, &me.user.username)
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?;
    }
    Ok(Redirect::to(&format!("/dags/{}/grid", p.dag_id)).into_response())
}

async fn mark(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(p): Path<TiPath>,
    Form(o): Form<Options>,
) -> WebResult<Response> {
    me.check_csrf(&o.csrf_token)?;
    me.check_allowed(Action::EditTaskInstances)?;
    let Some(to) = o.mark_as() else {
        return Ok((StatusCode::BAD_REQUEST, "state must be success or failed.").into_response());
    };
    let tis = match select(&state, &p, o.spread(false)).await? {
        Ok(tis) => tis,
        Err(resp) => return Ok(resp),
    };
    manual::mark(&state.pool, &tis, to, &me.user.username)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(Redirect::to(&format!("/dags/{}/grid", p.dag_id)).into_response())
}
