//! Browse across DAGs: `GET /dag_runs` (filters `dag_id`, `state`,
//! `run_type`, `from`/`to` on the run's date) and `GET /task_instances`
//! (`dag_id`, `run_id`, `task_id`, `state`, `pool`, `operator`), each with
//! `limit`/`offset`/`order`. A filter that cannot be read is a 400 that says
//! why.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use updraft_core::store::browse::{self, Paging, RunFilter, TiFilter};

use super::dag::{seg, when};
use super::list_query::ListQuery;
use crate::AppState;
use crate::auth::permissions::Action;
use crate::auth::session::CurrentUser;
use crate::error::WebResult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dag_runs", get(runs))
        .route("/task_instances", get(task_instances))
}

pub const RUN_STATES: [&str; 4] = ["queued", "running", "success", "failed"];
pub const RUN_TYPES: [&str; 4] = ["manual", "scheduled", "backfill", "asset_triggered"];
pub const TI_STATES: [&str; 13] = [
    "none",
    "scheduled",
    "queued",
    "running",
    "success",
    "failed",
    "skipped",
    "upstream_failed",
    "up_for_retry",
    "up_for_reschedule",
    "deferred",
    "removed",
    "restarting",
];

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// A duration in seconds as people read it (`1h 02m`, `3m 05s`, `4.2s`).
pub fn human_duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return String::new();
    };
    let whole = s.round() as i64;
    if s < 60.0 {
        format!("{s:.1}s")
    } else if whole < 3600 {
        format!("{}m {:02}s", whole / 60, whole % 60)
    } else {
        format!("{}h {:02}m", whole / 3600, (whole % 3600) / 60)
    }
}

/// Newer/older page links for a list read with `limit + 1` rows.
struct Pager {
    prev: Option<String>,
    next: Option<String>,
    first: i64,
    last: i64,
}

fn pager(path: &str, q: &ListQuery, page: Paging, rows: usize) -> Pager {
    let has_next = rows as i64 > page.limit;
    let shown = (rows as i64).min(page.limit);
    Pager {
        prev: (page.offset > 0).then(|| {
            format!(
                "{path}?{}",
                q.with_offset((page.offset - page.limit).max(0))
            )
        }),
        next: has_next.then(|| format!("{path}?{}", q.with_offset(page.offset + page.limit))),
        first: if shown == 0 { 0 } else { page.offset + 1 },
        last: page.offset + shown,
    }
}

struct RunLine {
    dag_id: String,
    run_id: String,
    href: String,
    dag_href: String,
    state: String,
    run_type: String,
    run_after: String,
    start: String,
    end: String,
    duration: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "browse_runs.html")]
struct RunsPage {
    username: String,
    csrf_token: String,
    dag_id: String,
    state: String,
    run_type: String,
    from: String,
    to: String,
    asc: bool,
    limit: i64,
    states: &'static [&'static str],
    run_types: &'static [&'static str],
    rows: Vec<RunLine>,
    pager: Pager,
}

fn run_filter(q: &ListQuery) -> Result<(RunFilter, Paging), String> {
    Ok((
        RunFilter {
            dag_id: q.text("dag_id"),
            state: q.one_of("state", &RUN_STATES)?,
            run_type: q.one_of("run_type", &RUN_TYPES)?,
            run_after_gte: q.date("from", false)?,
            run_after_lte: q.date("to", true)?,
        },
        q.paging()?,
    ))
}

async fn runs(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    me.check_allowed(Action::ReadDags)?;
    let q = ListQuery::parse(raw.as_deref());
    let (filter, page) = match run_filter(&q) {
        Ok(f) => f,
        Err(message) => return Ok(bad_request(message)),
    };
    let found = browse::runs(&state.pool, &filter, page).await?;
    let pager = pager("/dag_runs", &q, page, found.len());
    let rows = found
        .into_iter()
        .take(page.limit as usize)
        .map(|r| RunLine {
            href: format!("/dags/{}/runs/{}", seg(&r.dag_id), seg(&r.run_id)),
            dag_href: format!("/dags/{}/grid", seg(&r.dag_id)),
            duration: human_duration(run_seconds(r.start_date, r.end_date)),
            run_after: when(Some(r.run_after)),
            start: when(r.start_date),
            end: when(r.end_date),
            dag_id: r.dag_id,
            run_id: r.run_id,
            state: r.state,
            run_type: r.run_type,
        })
        .collect();
    Ok(RunsPage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        dag_id: filter.dag_id.unwrap_or_default(),
        state: filter.state.unwrap_or_default(),
        run_type: filter.run_type.unwrap_or_default(),
        from: q.text("from").unwrap_or_default(),
        to: q.text("to").unwrap_or_default(),
        asc: page.order == browse::Order::OldestFirst,
        limit: page.limit,
        states: &RUN_STATES,
        run_types: &RUN_TYPES,
        rows,
        pager,
    }
    .into_response())
}

/// Seconds between a run's start and end (`None` until it has both).
pub fn run_seconds(
    start: Option<chrono::DateTime<chrono::Utc>>,
    end: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<f64> {
    Some((end? - start?).num_milliseconds() as f64 / 1000.0).filter(|s| *s >= 0.0)
}

struct TiLine {
    dag_id: String,
    run_id: String,
    task_id: String,
    map_index: i32,
    href: String,
    run_href: String,
    state: String,
    try_number: i32,
    operator: String,
    pool: String,
    start: String,
    duration: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "browse_tis.html")]
struct TisPage {
    username: String,
    csrf_token: String,
    dag_id: String,
    run_id: String,
    task_id: String,
    state: String,
    pool: String,
    operator: String,
    asc: bool,
    limit: i64,
    states: &'static [&'static str],
    rows: Vec<TiLine>,
    pager: Pager,
}

fn ti_filter(q: &ListQuery) -> Result<(TiFilter, Paging), String> {
    Ok((
        TiFilter {
            dag_id: q.text("dag_id"),
            run_id: q.text("run_id"),
            task_id: q.text("task_id"),
            state: q.one_of("state", &TI_STATES)?,
            pool: q.text("pool"),
            operator: q.text("operator"),
        },
        q.paging()?,
    ))
}

/// A task instance's page, from the site root.
pub fn ti_href(dag_id: &str, run_id: &str, task_id: &str, map_index: i32) -> String {
    let map = if map_index >= 0 {
        format!("?map_index={map_index}")
    } else {
        String::new()
    };
    format!(
        "/dags/{}/runs/{}/tasks/{}{map}",
        seg(dag_id),
        seg(run_id),
        seg(task_id)
    )
}

pub fn ti_state(state: Option<String>) -> String {
    state.unwrap_or_else(|| "none".to_owned())
}

async fn task_instances(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    me.check_allowed(Action::ReadDags)?;
    let q = ListQuery::parse(raw.as_deref());
    let (filter, page) = match ti_filter(&q) {
        Ok(f) => f,
        Err(message) => return Ok(bad_request(message)),
    };
    let found = browse::task_instances(&state.pool, &filter, page).await?;
    let pager = pager("/task_instances", &q, page, found.len());
    let rows = found
        .into_iter()
        .take(page.limit as usize)
        .map(|t| TiLine {
            href: ti_href(&t.dag_id, &t.run_id, &t.task_id, t.map_index),
            run_href: format!("/dags/{}/runs/{}", seg(&t.dag_id), seg(&t.run_id)),
            start: when(t.start_date),
            duration: human_duration(t.duration),
            state: ti_state(t.state),
            operator: t.operator.unwrap_or_default(),
            dag_id: t.dag_id,
            run_id: t.run_id,
            task_id: t.task_id,
            map_index: t.map_index,
            try_number: t.try_number,
            pool: t.pool,
        })
        .collect();
    Ok(TisPage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        dag_id: filter.dag_id.unwrap_or_default(),
        run_id: filter.run_id.unwrap_or_default(),
        task_id: filter.task_id.unwrap_or_default(),
        state: filter.state.unwrap_or_default(),
        pool: filter.pool.unwrap_or_default(),
        operator: filter.operator.unwrap_or_default(),
        asc: page.order == browse::Order::OldestFirst,
        limit: page.limit,
        states: &TI_STATES,
        rows,
        pager,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(None), "");
        assert_eq!(human_duration(Some(4.24)), "4.2s");
        assert_eq!(human_duration(Some(185.0)), "3m 05s");
        assert_eq!(human_duration(Some(3720.0)), "1h 02m");
    }
}
