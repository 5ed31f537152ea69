//! `GET /audit-log`: the audit log, newest first, filtered by DAG, event
//! and owner (exact matches), 50 rows a page (`page=` from 1).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use updraft_core::store::audit::{self, AuditFilter};

use crate::AppState;
use crate::auth::permissions::Action;
use crate::auth::session::CurrentUser;
use crate::error::WebResult;

pub const PAGE_SIZE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit-log", get(page))
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    dag_id: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    page: Option<i64>,
}

struct Line {
    when: String,
    event: String,
    owner: String,
    dag_id: String,
    run_id: String,
    task_id: String,
    extra: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit_log.html")]
struct AuditPage {
    username: String,
    csrf_token: String,
    dag_id: String,
    event: String,
    owner: String,
    rows: Vec<Line>,
    page: i64,
    prev: Option<String>,
    next: Option<String>,
}

fn given(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

async fn page(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Query(q): Query<AuditQuery>,
) -> WebResult<AuditPage> {
    me.check_allowed(Action::ReadDags)?;
    let filter = AuditFilter {
        dag_id: given(&q.dag_id),
        event: given(&q.event),
        owner: given(&q.owner),
    };
    let page = q.page.unwrap_or(1).max(1);
    let mut conn = state.pool.acquire().await?;
    // One row more than a page tells whether there is a next page.
    let mut rows = audit::list(&mut conn, &filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let link = |p: i64| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("dag_id", &q.dag_id),
            ("event", &q.event),
            ("owner", &q.owner),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("page", &p.to_string());
        format!("/audit-log?{}", s.finish())
    };
    Ok(AuditPage {
        prev: (page > 1).then(|| link(page - 1)),
        next: more.then(|| link(page + 1)),
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        rows: rows
            .into_iter()
            .map(|r| Line {
                when: r.dttm.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                event: r.event,
                owner: r.owner.unwrap_or_default(),
                dag_id: r.dag_id.unwrap_or_default(),
                run_id: r.run_id.unwrap_or_default(),
                task_id: match r.map_index {
                    Some(m) if m >= 0 => format!("{}[{m}]", r.task_id.unwrap_or_default()),
                    _ => r.task_id.unwrap_or_default(),
                },
                extra: r.extra.to_string(),
            })
            .collect(),
        dag_id: q.dag_id,
        event: q.event,
        owner: q.owner,
        page,
    })
}
