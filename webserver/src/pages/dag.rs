//! `GET /dags/{dag_id}/grid`: the latest runs as columns (newest right),
//! tasks as rows in the DAG's order with task groups as collapsible row
//! groups, each cell coloured by state and linking to its task instance;
//! `GET /dags/{dag_id}/code`: the DAG file's source with line numbers.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use updraft_core::store::dag_pages::{self, DagHeader};
use updraft_core::store::dags;

use super::grid::{Cells, Shape, num_runs};
use crate::AppState;
use crate::auth::permissions::Action;
use crate::auth::session::CurrentUser;
use crate::error::WebResult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dags/{dag_id}/grid", get(grid))
        .route("/dags/{dag_id}/code", get(code))
        .merge(super::task_instance::router())
}

/// A path segment, percent-encoded (run ids hold `:` and `+`).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(String::new, |t| {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    })
}

/// The header every DAG page shares (`dag_header.html`).
pub struct HeaderView {
    pub dag_id: String,
    pub dag_href: String,
    pub schedule: String,
    pub is_paused: bool,
    pub description: String,
    /// A backfill in progress: the layout shows its banner.
    pub backfill_id: Option<i64>,
}

impl From<DagHeader> for HeaderView {
    fn from(d: DagHeader) -> Self {
        Self {
            dag_href: seg(&d.dag_id),
            dag_id: d.dag_id,
            schedule: d.schedule_summary.unwrap_or_else(|| "None".to_owned()),
            is_paused: d.is_paused,
            description: d.description.unwrap_or_default(),
            backfill_id: d.active_backfill_id,
        }
    }
}

pub fn not_found(what: String) -> Response {
    (StatusCode::NOT_FOUND, what).into_response()
}

struct RunColumn {
    run_id: String,
    state: String,
    label: String,
}

struct CellView {
    run_id: String,
    state: &'static str,
    /// Relative to `/dags/{dag_id}/`; empty for a group's cell.
    href: String,
}

/// A task instance state as a static word (the states the schema allows).
fn state_word(s: &str) -> &'static str {
    const STATES: [&str; 12] = [
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
    STATES.into_iter().find(|w| *w == s).unwrap_or("none")
}

struct RowView {
    id: String,
    label: String,
    is_group: bool,
    depth: usize,
    /// Space-separated ids of the groups this row is in.
    groups: String,
    cells: Vec<CellView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "dag_grid.html")]
struct GridPage {
    username: String,
    csrf_token: String,
    dag: HeaderView,
    tab: &'static str,
    runs: Vec<RunColumn>,
    rows: Vec<RowView>,
    num_runs: i64,
    active: bool,
}

async fn grid(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
    RawQuery(query): RawQuery,
) -> WebResult<Response> {
    me.check_allowed(Action::ReadDags)?;
    let Some(header) = dag_pages::header(&state.pool, &dag_id).await? else {
        return Ok(not_found(format!("DAG {dag_id} not found.")));
    };
    let limit = num_runs(query.as_deref());
    let runs = dag_pages::latest_runs(&state.pool, &dag_id, limit).await?;
    let run_ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    let serialized = dags::serialized(&state.pool, &dag_id).await?;
    let shape = Shape::from_serialized(serialized.as_ref());
    let mut cells = Cells::new(&run_ids);
    for ti in dag_pages::grid_tis(&state.pool, &dag_id, &run_ids).await? {
        cells.add(&ti.run_id, &ti.task_id, ti.map_index, ti.state);
    }
    let mut specs = shape.rows();
    specs.extend(
        cells
            .unknown_tasks(&shape)
            .into_iter()
            .map(|id| super::grid::RowSpec {
                members: vec![id.clone()],
                id,
                is_group: false,
                parents: Vec::new(),
            }),
    );
    // Relative to /dags/{dag_id}/: short links, as a grid has thousands.
    let run_segs: Vec<String> = run_ids.iter().map(|r| seg(r)).collect();
    let rows = specs
        .into_iter()
        .map(|spec| {
            let task_seg = seg(&spec.id);
            let task_cells = if spec.is_group {
                None
            } else {
                cells.row(&spec.id)
            };
            let cells = (0..run_ids.len())
                .map(|col| {
                    let (state, href) = if spec.is_group {
                        (cells.summary(col, &spec.members), String::new())
                    } else {
                        match task_cells.and_then(|row| row[col].as_ref()) {
                            None => (None, String::new()),
                            Some(c) => {
                                let map = if c.first_map_index >= 0 {
                                    format!("?map_index={}", c.first_map_index)
                                } else {
                                    String::new()
                                };
                                (
                                    Some(c.state.as_deref()),
                                    format!("runs/{}/tasks/{task_seg}{map}", run_segs[col]),
                                )
                            }
                        }
                    };
                    CellView {
                        run_id: run_ids[col].clone(),
                        // "": no task instance; "none": one without a state.
                        state: match state {
                            None => "",
                            Some(None) => "none",
                            Some(Some(s)) => state_word(s),
                        },
                        href,
                    }
                })
                .collect();
            let label = spec
                .parents
                .last()
                .and_then(|g| spec.id.strip_prefix(&format!("{g}.")))
                .unwrap_or(&spec.id)
                .to_owned();
            RowView {
                label,
                is_group: spec.is_group,
                depth: spec.parents.len(),
                groups: spec.parents.join(" "),
                id: spec.id,
                cells,
            }
        })
        .collect();
    let active = runs
        .iter()
        .any(|r| r.state == "queued" || r.state == "running");
    Ok(GridPage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        dag: header.into(),
        tab: "grid",
        runs: runs
            .into_iter()
            .map(|r| RunColumn {
                label: format!(
                    "{} · {} · {}",
                    r.run_id,
                    r.run_type,
                    when(r.logical_date.or(Some(r.run_after)))
                ),
                run_id: r.run_id,
                state: r.state,
            })
            .collect(),
        rows,
        num_runs: limit,
        active,
    }
    .into_response())
}

struct CodeLine {
    number: usize,
    text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dag_code.html")]
struct CodePage {
    username: String,
    csrf_token: String,
    dag: HeaderView,
    tab: &'static str,
    fileloc: String,
    lines: Vec<CodeLine>,
    found: bool,
}

async fn code(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
) -> WebResult<Response> {
    me.check_allowed(Action::ReadDags)?;
    let Some(header) = dag_pages::header(&state.pool, &dag_id).await? else {
        return Ok(not_found(format!("DAG {dag_id} not found.")));
    };
    let source = dag_pages::source(&state.pool, &dag_id).await?;
    let found = source.is_some();
    let (fileloc, text) = source.unwrap_or_else(|| (header.fileloc.clone(), String::new()));
    Ok(CodePage {
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        dag: header.into(),
        tab: "code",
        fileloc,
        lines: text
            .lines()
            .enumerate()
            .map(|(i, l)| CodeLine {
                number: i + 1,
                text: l.to_owned(),
            })
            .collect(),
        found,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::seg;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(
            seg("manual__2026-01-01T00:00:00+00:00"),
            "manual__2026-01-01T00%3A00%3A00%2B00%3A00"
        );
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }
}
