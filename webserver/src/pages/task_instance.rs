//! `GET /dags/{dag_id}/runs/{run_id}/tasks/{task_id}` (`?map_index=`,
//! `?try_number=`): one task instance: state, tries, times, operator,
//! rendered template fields, XComs, why it waits, and the log of a try;
//! `GET …/logs?try_number=N&after=SEQ`: the log chunks after SEQ as JSON,
//! for the page's live tail.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Serialize;
use serde_json::Value;
use updraft_core::deps::{UpstreamCounts, evaluate};
use updraft_core::model::{TaskInstanceState, TriggerRule};
use updraft_core::store::dag_pages::{self, TiDetail};
use updraft_core::store::task_instances::TiRef;
use updraft_core::store::{dags, hitl, task_logs, xcom};

use super::dag::{HeaderView, not_found, seg, when};
use super::grid::Shape;
use super::hitl::TiRequestView;
use crate::AppState;
use crate::auth::permissions::Action;
use crate::auth::session::CurrentUser;
use crate::error::WebResult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}", get(page))
        .route(
            "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/logs",
            get(logs),
        )
}

/// `map_index`, `try_number` and `after` from the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TiQuery {
    map_index: i32,
    try_number: Option<i32>,
    after: i32,
}

fn parse_query(query: Option<&str>) -> TiQuery {
    let mut q = TiQuery {
        map_index: -1,
        try_number: None,
        after: -1,
    };
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "map_index" => q.map_index = v.parse().unwrap_or(-1),
            "try_number" => q.try_number = v.parse().ok().filter(|n: &i32| *n >= 1),
            "after" => q.after = v.parse().unwrap_or(-1),
            _ => {}
        }
    }
    q
}

/// States in which the current try has not finished (or not started): its
/// log may still grow.
fn try_in_progress(state: Option<&str>) -> bool {
    matches!(
        state,
        Some("scheduled" | "queued" | "running" | "deferred" | "up_for_reschedule" | "restarting")
    )
}

/// Whether try `n` of a task instance now at `current` in `state` has ended.
fn try_ended(state: Option<&str>, current: i32, n: i32) -> bool {
    n < current || !try_in_progress(state)
}

/// Why a task instance has not run (yet), in plain words.
struct Waiting {
    summary: String,
    /// Whether `summary` comes from core's trigger-rule check (`deps`).
    from_trigger_rule: bool,
    trigger_rule: String,
    upstreams: Vec<(String, String)>,
}

fn waiting_reason(
    ti: &TiDetail,
    rule: &str,
    upstreams: &[(String, i32, Option<String>)],
) -> Option<Waiting> {
    let listed = upstreams
        .iter()
        .map(|(t, m, s)| {
            let name = if *m >= 0 {
                format!("{t}[{m}]")
            } else {
                t.clone()
            };
            (name, s.clone().unwrap_or_else(|| "none".to_owned()))
        })
        .collect();
    let mut waiting = Waiting {
        summary: String::new(),
        from_trigger_rule: false,
        trigger_rule: rule.to_owned(),
        upstreams: listed,
    };
    waiting.summary = match ti.state.as_deref() {
        None if ti.run_state == "queued" => {
            "The run is queued: it has not started yet (the DAG may be paused or at max_active_runs)."
                .to_owned()
        }
        None => match TriggerRule::parse(rule) {
            Some(parsed) => {
                let counts = UpstreamCounts::from_named(upstreams.iter().map(|(t, _, s)| {
                    (
                        t.as_str(),
                        s.as_deref().and_then(TaskInstanceState::parse),
                        false,
                    )
                }));
                waiting.from_trigger_rule = true;
                evaluate(parsed, &counts).reason
            }
            None => format!("Waiting on its upstream tasks (trigger rule {rule})."),
        },
        Some("scheduled") => format!(
            "Scheduled: waiting for a free slot in pool {} (or the DAG's task limits).",
            ti.pool
        ),
        Some("queued") => format!("Queued: waiting for a worker on queue {} to claim it.", ti.queue),
        Some("up_for_retry") => format!(
            "Up for retry: try {} failed; the next try may start at {}.",
            ti.try_number,
            when(ti.next_retry_at)
        ),
        Some("up_for_reschedule") => format!(
            "Up for reschedule: the sensor checks again at {}.",
            when(ti.next_retry_at)
        ),
        Some("deferred") => "Deferred: waiting for its trigger to fire.".to_owned(),
        _ => return None,
    };
    Some(waiting)
}

fn pretty(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

struct TryTab {
    number: i32,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "task_instance.html")]
struct TiPage {
    username: String,
    csrf_token: String,
    dag: HeaderView,
    tab: &'static str,
    run_id: String,
    task_id: String,
    map_index: i32,
    state: String,
    try_number: i32,
    max_tries: i32,
    operator: String,
    pool: String,
    hostname: String,
    queued_at: String,
    start: String,
    end: String,
    duration: String,
    rendered: Vec<(String, String)>,
    xcoms: Vec<(String, String)>,
    waiting: Option<Waiting>,
    /// Its human-in-the-loop request, if it asked one.
    hitl: Option<TiRequestView>,
    tries: Vec<TryTab>,
    log_try: i32,
    log_text: String,
    log_seq: i32,
    log_ended: bool,
    logs_url: String,
    grid_href: String,
}

async fn page(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> WebResult<Response> {
    me.check_allowed(Action::ReadDags)?;
    let q = parse_query(query.as_deref());
    let Some(header) = dag_pages::header(&state.pool, &dag_id).await? else {
        return Ok(not_found(format!("DAG {dag_id} not found.")));
    };
    let at = TiRef {
        dag_id: &dag_id,
        run_id: &run_id,
        task_id: &task_id,
        map_index: q.map_index,
    };
    let Some(ti) = dag_pages::ti_detail(&state.pool, &at).await? else {
        return Ok(not_found(format!(
            "Task instance {dag_id} / {run_id} / {task_id} (map index {}) not found.",
            q.map_index
        )));
    };
    let shape = Shape::from_serialized(dags::serialized(&state.pool, &dag_id).await?.as_ref());
    let task = shape.task(&task_id);
    let rule = task
        .and_then(|t| t.trigger_rule.clone())
        .unwrap_or_else(|| "all_success".to_owned());
    let upstream_ids: Vec<String> = task
        .map(|t| t.upstream_task_ids.clone())
        .unwrap_or_default();
    let upstreams = dag_pages::states_of(&state.pool, &dag_id, &run_id, &upstream_ids).await?;
    let waiting = waiting_reason(&ti, &rule, &upstreams);

    let log_try = q.try_number.unwrap_or(ti.try_number).min(ti.try_number);
    let mut conn = state.pool.acquire().await?;
    let chunks = if log_try >= 1 {
        task_logs::chunks_after(&mut conn, ti.id, log_try, -1).await?
    } else {
        Vec::new()
    };
    let xcoms = xcom::list_for_ti(&mut conn, ti.id).await?;
    let hitl = hitl::get(&mut conn, ti.id)
        .await?
        .map(|d| TiRequestView::from(&d));
    drop(conn);
    let history = dag_pages::tries(&state.pool, ti.id).await?;
    // The rendered fields of the shown try: its history row's when it has
    // ended, else the task instance's own.
    let rendered = history
        .iter()
        .find(|h| h.try_number == log_try && h.rendered_fields.is_some())
        .and_then(|h| h.rendered_fields.clone())
        .or(ti.rendered_fields.clone());
    let rendered = match rendered {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), pretty(v))).collect(),
        _ => Vec::new(),
    };
    let map_q = if q.map_index >= 0 {
        format!("map_index={}&", q.map_index)
    } else {
        String::new()
    };
    let base = format!(
        "/dags/{}/runs/{}/tasks/{}",
        seg(&dag_id),
        seg(&run_id),
        seg(&task_id)
    );
    Ok(TiPage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        grid_href: format!("/dags/{}/grid", seg(&dag_id)),
        dag: header.into(),
        tab: "",
        state: ti.state.clone().unwrap_or_else(|| "none".to_owned()),
        try_number: ti.try_number,
        max_tries: ti.max_tries,
        operator: ti.operator.clone().unwrap_or_default(),
        pool: ti.pool.clone(),
        hostname: ti.hostname.clone().unwrap_or_default(),
        queued_at: when(ti.queued_at),
        start: when(ti.start_date),
        end: when(ti.end_date),
        duration: ti
            .duration
            .map_or_else(String::new, |d| format!("{d:.2} s")),
        rendered,
        xcoms: xcoms
            .into_iter()
            .map(|(k, v)| (k, v.as_ref().map_or_else(|| "null".to_owned(), pretty)))
            .collect(),
        waiting,
        hitl,
        tries: (1..=ti.try_number)
            .map(|n| TryTab {
                number: n,
                current: n == log_try,
            })
            .collect(),
        log_try,
        log_seq: chunks.last().map_or(-1, |c| c.0),
        log_text: chunks.into_iter().map(|c| c.1).collect(),
        log_ended: try_ended(ti.state.as_deref(), ti.try_number, log_try),
        logs_url: format!("{base}/logs?{map_q}try_number={log_try}"),
        run_id,
        task_id,
        map_index: q.map_index,
    }
    .into_response())
}

#[derive(Debug, Serialize)]
struct LogChunk {
    seq: i32,
    content: String,
}

#[derive(Debug, Serialize)]
struct LogTail {
    try_number: i32,
    state: Option<String>,
    ended: bool,
    chunks: Vec<LogChunk>,
}

async fn logs(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> WebResult<Response> {
    me.check_allowed(Action::ReadDags)?;
    let q = parse_query(query.as_deref());
    let at = TiRef {
        dag_id: &dag_id,
        run_id: &run_id,
        task_id: &task_id,
        map_index: q.map_index,
    };
    let Some(ti) = dag_pages::ti_detail(&state.pool, &at).await? else {
        return Ok(not_found(format!(
            "Task instance {dag_id} / {run_id} / {task_id} not found."
        )));
    };
    let try_number = q.try_number.unwrap_or(ti.try_number);
    let chunks = if try_number >= 1 {
        let mut conn = state.pool.acquire().await?;
        task_logs::chunks_after(&mut conn, ti.id, try_number, q.after).await?
    } else {
        Vec::new()
    };
    Ok(Json(LogTail {
        try_number,
        ended: try_ended(ti.state.as_deref(), ti.try_number, try_number),
        state: ti.state,
        chunks: chunks
            .into_iter()
            .map(|(seq, content)| LogChunk { seq, content })
            .collect(),
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_defaults_and_values() {
        let q = parse_query(None);
        assert_eq!((q.map_index, q.try_number, q.after), (-1, None, -1));
        let q = parse_query(Some("map_index=3&try_number=2&after=7"));
        assert_eq!((q.map_index, q.try_number, q.after), (3, Some(2), 7));
        assert_eq!(parse_query(Some("try_number=0")).try_number, None);
    }

    // Invariant: the live tail stops once a try can no longer grow: an
    // earlier try, or the current one in a finished state.
    #[test]
    fn which_tries_have_ended() {
        assert!(!try_ended(Some("running"), 2, 2));
        assert!(try_ended(Some("running"), 2, 1));
        assert!(try_ended(Some("success"), 2, 2));
        assert!(try_ended(Some("up_for_retry"), 1, 1));
        assert!(!try_ended(Some("queued"), 1, 1));
    }
}
