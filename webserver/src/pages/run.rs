//! `GET /dags/{dag_id}/runs/{run_id}`: one run's details (state, type,
//! dates, duration, conf, who triggered it, note) and its task instances
//! with links to their pages and their clear/mark dialogs;
//! `GET /dags/{dag_id}/durations[?num_runs=]`: the latest runs' durations as
//! a bar chart coloured by state (inline SVG, no script).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::Utc;
use updraft_core::store::browse::{self, Order, Paging, TiFilter};
use updraft_core::store::{dag_pages, hitl, run_catalog};

use super::browse::{human_duration, run_seconds, ti_href, ti_state};
use super::dag::{HeaderView, not_found, seg, when};
use super::grid::num_runs;
use super::hitl::TiRequestView;
use crate::AppState;
use crate::auth::permissions::Action;
use crate::auth::session::CurrentUser;
use crate::error::WebResult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dags/{dag_id}/runs/{run_id}", get(details))
        .route("/dags/{dag_id}/durations", get(durations))
}

/// More task instances than a run page lists (a 10,000-way mapped task
/// is better browsed through /task_instances).
const RUN_TI_LIMIT: i64 = 5000;

struct TiLine {
    task_id: String,
    map_index: i32,
    state: String,
    try_number: i32,
    operator: String,
    start: String,
    duration: String,
    href: String,
    clear_href: String,
    mark_href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dag_run.html")]
struct RunPage {
    username: String,
    csrf_token: String,
    dag: HeaderView,
    tab: &'static str,
    run_id: String,
    state: String,
    run_type: String,
    logical_date: String,
    interval: String,
    run_after: String,
    queued: String,
    start: String,
    end: String,
    duration: String,
    conf: String,
    triggered_by: String,
    note: String,
    graph_href: String,
    tis_href: String,
    tis: Vec<TiLine>,
    truncated: bool,
    /// The run's human-in-the-loop requests, open and answered.
    requests: Vec<TiRequestView>,
}

async fn details(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path((dag_id, run_id)): Path<(String, String)>,
) -> WebResult<Response> {
    me.check_allowed(Action::ReadDags)?;
    let Some(header) = dag_pages::header(&state.pool, &dag_id).await? else {
        return Ok(not_found(format!("DAG {dag_id} not found.")));
    };
    let Some(run) = run_catalog::one(&state.pool, &dag_id, &run_id).await? else {
        return Ok(not_found(format!(
            "Run {run_id} of DAG {dag_id} not found."
        )));
    };
    let filter = TiFilter {
        dag_id: Some(dag_id.clone()),
        run_id: Some(run_id.clone()),
        ..TiFilter::default()
    };
    let page = Paging {
        limit: RUN_TI_LIMIT,
        offset: 0,
        order: Order::NewestFirst,
    };
    let mut found = browse::task_instances(&state.pool, &filter, page).await?;
    let requests = hitl::list_for_run(&state.pool, Some(&dag_id), Some(&run_id))
        .await?
        .iter()
        .map(TiRequestView::from)
        .collect();
    let truncated = found.len() as i64 > RUN_TI_LIMIT;
    found.truncate(RUN_TI_LIMIT as usize);
    let tis = found
        .into_iter()
        .map(|t| {
            let href = ti_href(&t.dag_id, &t.run_id, &t.task_id, t.map_index);
            let base = href.split('?').next().unwrap_or(&href).to_owned();
            TiLine {
                clear_href: format!("{base}/clear"),
                mark_href: format!("{base}/mark"),
                href,
                start: when(t.start_date),
                duration: human_duration(t.duration),
                state: ti_state(t.state),
                operator: t.operator.unwrap_or_default(),
                task_id: t.task_id,
                map_index: t.map_index,
                try_number: t.try_number,
            }
        })
        .collect();
    let interval = match (run.data_interval_start, run.data_interval_end) {
        (Some(a), Some(b)) => format!("{} → {}", when(Some(a)), when(Some(b))),
        _ => String::new(),
    };
    let triggered_by = match (&run.triggered_by, &run.triggering_user) {
        (Some(by), Some(user)) => format!("{by} ({user})"),
        (Some(by), None) => by.clone(),
        (None, Some(user)) => user.clone(),
        (None, None) => String::new(),
    };
    let dag_seg = seg(&dag_id);
    let run_seg = seg(&run_id);
    Ok(RunPage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        dag: header.into(),
        tab: "",
        graph_href: format!("/dags/{dag_seg}/graph?run_id={run_seg}"),
        tis_href: format!("/task_instances?dag_id={dag_seg}&run_id={run_seg}"),
        state: run.state,
        run_type: run.run_type,
        logical_date: when(run.logical_date),
        interval,
        run_after: when(Some(run.run_after)),
        queued: when(run.queued_at),
        start: when(run.start_date),
        end: when(run.end_date),
        duration: human_duration(run_seconds(run.start_date, run.end_date)),
        conf: serde_json::to_string_pretty(&run.conf).unwrap_or_default(),
        triggered_by,
        note: run.note.unwrap_or_default(),
        run_id,
        tis,
        truncated,
        requests,
    }
    .into_response())
}

struct Bar {
    run_id: String,
    state: String,
    href: String,
    seconds: String,
    title: String,
    x: String,
    y: String,
    w: String,
    h: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dag_durations.html")]
struct DurationsPage {
    username: String,
    csrf_token: String,
    dag: HeaderView,
    tab: &'static str,
    num_runs: i64,
    bars: Vec<Bar>,
    width: String,
    max_label: String,
    mid_label: String,
}

const CHART_H: f64 = 220.0;
const AXIS_W: f64 = 56.0;

async fn durations(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    me.check_allowed(Action::ReadDags)?;
    let Some(header) = dag_pages::header(&state.pool, &dag_id).await? else {
        return Ok(not_found(format!("DAG {dag_id} not found.")));
    };
    let limit = num_runs(raw.as_deref());
    let runs = dag_pages::latest_runs(&state.pool, &dag_id, limit).await?;
    let now = Utc::now();
    // A running run's bar grows to now; a queued one has none yet.
    let seconds: Vec<f64> = runs
        .iter()
        .map(|r| {
            let end = r.end_date.or((r.state == "running").then_some(now));
            run_seconds(r.start_date, end).unwrap_or(0.0)
        })
        .collect();
    let max = seconds.iter().copied().fold(0.0f64, f64::max).max(1.0);
    let slot = (720.0 / runs.len().max(1) as f64).clamp(6.0, 40.0);
    let bars = runs
        .iter()
        .zip(&seconds)
        .enumerate()
        .map(|(i, (r, s))| {
            let h = (s / max * CHART_H).max(if *s > 0.0 { 1.0 } else { 0.0 });
            Bar {
                href: format!("runs/{}", seg(&r.run_id)),
                seconds: format!("{s:.3}"),
                title: format!("{} · {} · {}", r.run_id, r.state, human_duration(Some(*s))),
                x: format!("{:.1}", AXIS_W + i as f64 * slot + slot * 0.15),
                y: format!("{:.1}", 10.0 + CHART_H - h),
                w: format!("{:.1}", slot * 0.7),
                h: format!("{h:.1}"),
                run_id: r.run_id.clone(),
                state: r.state.clone(),
            }
        })
        .collect();
    Ok(DurationsPage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        dag: header.into(),
        tab: "durations",
        num_runs: limit,
        bars,
        width: format!("{:.0}", AXIS_W + slot * runs.len() as f64 + 10.0),
        max_label: human_duration(Some(max)),
        mid_label: human_duration(Some(max / 2.0)),
    }
    .into_response())
}
