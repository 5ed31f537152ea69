//! `GET /home`: the DAG list with its filters and the import-error banner;
//! `POST /dags/{dag_id}/pause`: the pause toggle (role-checked, audited).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use updraft_core::store::dag_list::{self, DagListFilter, DagListRow};
use updraft_core::store::{dag_runs, import_errors};

use crate::AppState;
use crate::auth::permissions::{Action, any_allowed};
use crate::auth::session::CurrentUser;
use crate::error::WebResult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/home", get(home))
        .route("/dags/{dag_id}/pause", post(pause))
}

/// A row as the template shows it.
struct DagView {
    dag_id: String,
    is_paused: bool,
    owners: String,
    schedule: String,
    tags: Vec<String>,
    /// Oldest first, as they read left to right.
    recent_runs: Vec<RunDot>,
    last_run_state: String,
    last_run_after: String,
    next_run: String,
}

/// One of the latest runs, drawn as a dot linking to its page.
struct RunDot {
    run_id: String,
    state: String,
}

struct ImportErrorView {
    filename: String,
    line: String,
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    username: String,
    csrf_token: String,
    can_edit: bool,
    dags: Vec<DagView>,
    import_errors: Vec<ImportErrorView>,
    search: String,
    tag_options: Vec<TagOption>,
    paused: String,
}

struct TagOption {
    name: String,
    selected: bool,
}

/// `search`, `tags` (repeated or comma-separated) and `paused`
/// (`true`/`false`; anything else: all) from the query string.
fn parse_filter(query: Option<&str>) -> (DagListFilter, String) {
    let mut filter = DagListFilter::default();
    let mut paused = String::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "search" => filter.search = Some(v.trim().to_owned()),
            "tags" => filter.tags.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            ),
            "paused" => {
                filter.paused = match v.as_ref() {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                };
                paused = v.into_owned();
            }
            _ => {}
        }
    }
    (filter, paused)
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(String::new, |t| {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    })
}

impl From<DagListRow> for DagView {
    fn from(r: DagListRow) -> Self {
        Self {
            dag_id: r.dag_id,
            is_paused: r.is_paused,
            owners: r.owners,
            schedule: r.schedule_summary.unwrap_or_else(|| "None".to_owned()),
            tags: r.tags,
            last_run_state: r.recent_run_states.first().cloned().unwrap_or_default(),
            recent_runs: r
                .recent_run_ids
                .into_iter()
                .zip(r.recent_run_states)
                .rev()
                .map(|(run_id, state)| RunDot { run_id, state })
                .collect(),
            last_run_after: when(r.last_run_after),
            next_run: when(r.next_run_after),
        }
    }
}

async fn home(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    RawQuery(query): RawQuery,
) -> WebResult<HomePage> {
    let (filter, paused) = parse_filter(query.as_deref());
    let dags = dag_list::list(&state.pool, &filter).await?;
    let errors = import_errors::list(&state.pool).await?;
    Ok(HomePage {
        can_edit: any_allowed(&me.user.roles, Action::EditDags),
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        dags: dags.into_iter().map(DagView::from).collect(),
        import_errors: errors
            .into_iter()
            .map(|e| ImportErrorView {
                line: e.line.map_or_else(String::new, |l| format!(":{l}")),
                filename: e.filename,
                message: e.message,
            })
            .collect(),
        search: filter.search.unwrap_or_default(),
        tag_options: dag_list::all_tags(&state.pool)
            .await?
            .into_iter()
            .map(|name| TagOption {
                selected: filter.tags.contains(&name),
                name,
            })
            .collect(),
        paused,
    })
}

#[derive(Debug, Deserialize)]
struct PauseForm {
    #[serde(default)]
    is_paused: String,
    #[serde(default)]
    csrf_token: String,
}

/// Pauses or unpauses a DAG: CSRF first, then the role, then one UPDATE
/// and its audit row in one transaction.
async fn pause(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(dag_id): Path<String>,
    Form(f): Form<PauseForm>,
) -> WebResult<Response> {
    me.check_csrf(&f.csrf_token)?;
    me.check_allowed(Action::EditDags)?;
    let paused = match f.is_paused.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                "is_paused must be true or false.",
            )
                .into_response());
        }
    };
    let mut tx = state.pool.begin().await?;
    if !dag_runs::set_paused(&mut tx, &dag_id, paused).await? {
        return Ok((StatusCode::NOT_FOUND, format!("DAG {dag_id} not found.")).into_response());
    }
    me.audit(
        &mut tx,
        if paused { "paused" } else { "unpaused" },
        Some(&dag_id),
        serde_json::json!({"is_paused": paused}),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/home").into_response())
}

#[cfg(test)]
mod tests {
    use super::parse_filter;

    #[test]
    fn filter_from_query() {
        let (f, paused) = parse_filter(Some("search=hel&tags=a,b&tags=c&paused=false"));
        assert_eq!(f.search.as_deref(), Some("hel"));
        assert_eq!(f.tags, ["a", "b", "c"]);
        assert_eq!(f.paused, Some(false));
        assert_eq!(paused, "false");
        let (f, _) = parse_filter(Some("paused=all"));
        assert_eq!(f.paused, None);
        assert!(parse_filter(None).0.tags.is_empty());
    }
}
