//! `GET /dags/{dag_id}/graph[?run_id=]`: the DAG as a layered graph
//! (server-side SVG, no script), each task coloured by its state in the
//! chosen run (the latest by default), linking to its task instance; task
//! groups as a coloured stripe with a legend; edge labels as serialized.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use updraft_core::store::{dag_pages, dags};

use super::dag::{HeaderView, not_found, seg, when};
use super::graph_layout::{self, GraphLayout, GraphSpec};
use super::grid::priority;
use super::list_query::ListQuery;
use crate::AppState;
use crate::auth::permissions::Action;
use crate::auth::session::CurrentUser;
use crate::error::{WebError, WebResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/dags/{dag_id}/graph", get(page))
}

/// Pale colours for task groups, in order of first appearance.
const GROUP_COLOURS: [&str; 8] = [
    "#7aa6e0", "#e0a87a", "#8cc98c", "#c99ad6", "#e0d07a", "#7ad0d0", "#e08a9a", "#a8a8a8",
];

struct RunOption {
    run_id: String,
    label: String,
    selected: bool,
}

struct NodeView {
    task_id: String,
    label: String,
    operator: String,
    state: String,
    href: String,
    x: String,
    y: String,
    w: String,
    h: String,
    /// Text baselines and the group stripe's colour ("" outside a group).
    text_x: String,
    label_y: String,
    operator_y: String,
    colour: &'static str,
    group: String,
}

struct EdgeView {
    from: String,
    to: String,
    d: String,
    label: Option<LabelView>,
}

struct LabelView {
    text: String,
    x: String,
    y: String,
    box_x: String,
    box_y: String,
    box_w: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dag_graph.html")]
struct GraphPage {
    username: String,
    csrf_token: String,
    dag: HeaderView,
    tab: &'static str,
    runs: Vec<RunOption>,
    run_id: String,
    run_state: String,
    run_href: String,
    width: String,
    height: String,
    nodes: Vec<NodeView>,
    edges: Vec<EdgeView>,
    groups: Vec<(String, &'static str)>,
}

fn n(v: f64) -> String {
    format!("{v:.1}")
}

/// How long a page waits for a layout being computed before it shows the
/// fast layered layout instead (the computation goes on and is cached).
const LAYOUT_WAIT: Duration = Duration::from_secs(3);

/// The layout of a DAG version: from the cache, else computed on a thread
/// of its own and kept. A page waits for it at most LAYOUT_WAIT; meanwhile
/// (or while another page's computation runs) it gets our fast layered
/// layout.
async fn layout_of(state: &AppState, version_id: i64) -> WebResult<Arc<GraphLayout>> {
    if let Some(layout) = graph_layout::cached(version_id) {
        return Ok(layout);
    }
    let data = dags::version_data(&state.pool, version_id).await?;
    let spec = GraphSpec::from_serialized(data.as_ref());
    if !graph_layout::start_computing(version_id) {
        return layered_off_thread(spec).await;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let for_thread = spec.clone();
    let spawned = std::thread::Builder::new()
        .name("graph-layout".to_owned())
        .spawn(move || {
            let layout = Arc::new(graph_layout::compute(&for_thread));
            graph_layout::remember(version_id, layout.clone());
            graph_layout::done_computing(version_id);
            let _ = tx.send(layout);
        });
    if let Err(e) = spawned {
        graph_layout::done_computing(version_id);
        return Err(WebError::Internal(format!(
            "starting the layout thread: {e}"
        )));
    }
    match tokio::time::timeout(LAYOUT_WAIT, rx).await {
        Ok(Ok(layout)) => Ok(layout),
        _ => layered_off_thread(spec).await,
    }
}

/// Our layered layout, off the async threads: a few hundred ms at most for
/// thousands of tasks (release), too long to hold a runtime thread.
async fn layered_off_thread(spec: GraphSpec) -> WebResult<Arc<GraphLayout>> {
    tokio::task::spawn_blocking(move || Arc::new(graph_layout::compute_layered(&spec)))
        .await
        .map_err(|e| WebError::Internal(format!("laying out the graph: {e}")))
}

async fn page(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    me.check_allowed(Action::ReadDags)?;
    let Some(header) = dag_pages::header(&state.pool, &dag_id).await? else {
        return Ok(not_found(format!("DAG {dag_id} not found.")));
    };
    let mut runs = dag_pages::latest_runs(&state.pool, &dag_id, 25).await?;
    runs.reverse(); // the picker lists the newest first
    let asked = ListQuery::parse(raw.as_deref()).text("run_id");
    let run = match &asked {
        Some(id) => match runs.iter().find(|r| &r.run_id == id) {
            Some(r) => Some((r.run_id.clone(), r.state.clone())),
            // An older run than the picker shows.
            None => match updraft_core::store::run_catalog::one(&state.pool, &dag_id, id).await? {
                Some(r) => Some((r.run_id, r.state)),
                None => return Ok(not_found(format!("Run {id} of DAG {dag_id} not found."))),
            },
        },
        None => runs.first().map(|r| (r.run_id.clone(), r.state.clone())),
    };
    let run_id = run.as_ref().map(|r| r.0.as_str());
    let layout = match dag_pages::graph_version(&state.pool, &dag_id, run_id).await? {
        Some(version) => layout_of(&state, version).await?,
        None => Arc::new(graph_layout::compute(&GraphSpec::default())),
    };
    // Each task's state in the run (a mapped task: the highest priority).
    let mut states: HashMap<String, (Option<String>, i32)> = HashMap::new();
    if let Some(run_id) = run_id {
        let tis = dag_pages::grid_tis(&state.pool, &dag_id, &[run_id.to_owned()]).await?;
        for ti in tis {
            let entry = states
                .entry(ti.task_id)
                .or_insert((ti.state.clone(), ti.map_index));
            if priority(ti.state.as_deref()) > priority(entry.0.as_deref()) {
                entry.0 = ti.state;
            }
            entry.1 = entry.1.min(ti.map_index);
        }
    }
    let mut groups: Vec<(String, &'static str)> = Vec::new();
    let run_seg = run_id.map(seg).unwrap_or_default();
    let nodes = layout
        .nodes
        .iter()
        .map(|b| {
            let colour = match &b.group {
                None => "",
                Some(g) => match groups.iter().find(|(name, _)| name == g) {
                    Some((_, c)) => c,
                    None => {
                        let c = GROUP_COLOURS[groups.len() % GROUP_COLOURS.len()];
                        groups.push((g.clone(), c));
                        c
                    }
                },
            };
            let (state, href) = match (run_id, states.get(&b.task_id)) {
                (Some(_), Some((s, map))) => {
                    let map = if *map >= 0 {
                        format!("?map_index={map}")
                    } else {
                        String::new()
                    };
                    (
                        s.clone().unwrap_or_else(|| "none".to_owned()),
                        format!("runs/{run_seg}/tasks/{}{map}", seg(&b.task_id)),
                    )
                }
                _ => (String::new(), String::new()),
            };
            NodeView {
                task_id: b.task_id.clone(),
                label: b.label.clone(),
                operator: b.operator.clone(),
                state,
                href,
                x: n(b.x),
                y: n(b.y),
                w: n(b.w),
                h: n(b.h),
                text_x: n(b.x + 12.0),
                label_y: n(b.y + b.h / 2.0 - 3.0),
                operator_y: n(b.y + b.h / 2.0 + 12.0),
                colour,
                group: b.group.clone().unwrap_or_default(),
            }
        })
        .collect();
    let edges = layout
        .edges
        .iter()
        .map(|e| EdgeView {
            from: e.from.clone(),
            to: e.to.clone(),
            d: e.d.clone(),
            label: e.label.as_ref().map(|(text, x, y)| {
                let w = text.chars().count() as f64 * 6.6 + 8.0;
                LabelView {
                    text: text.clone(),
                    x: n(*x),
                    y: n(y + 4.0),
                    box_x: n(x - w / 2.0),
                    box_y: n(y - 9.0),
                    box_w: n(w),
                }
            }),
        })
        .collect();
    let (run_id, run_state) = run.unwrap_or_default();
    Ok(GraphPage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        run_href: if run_id.is_empty() {
            String::new()
        } else {
            format!("runs/{}", seg(&run_id))
        },
        dag: header.into(),
        tab: "graph",
        runs: runs
            .iter()
            .map(|r| RunOption {
                label: format!(
                    "{} · {} · {}",
                    when(r.logical_date.or(Some(r.run_after))),
                    r.run_id,
                    r.state
                ),
                selected: r.run_id == run_id,
                run_id: r.run_id.clone(),
            })
            .collect(),
        run_id,
        run_state,
        width: n(layout.width),
        height: n(layout.height),
        nodes,
        edges,
        groups,
    }
    .into_response())
}
