//! `/pools`: the pools, with a create/edit form and delete
//! (`default_pool` cannot be deleted; a pool task instances still name is
//! refused, 409).

use super::{CsrfForm, EditQuery};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use updraft_core::store::pools::{self, DEFAULT_POOL, PoolRow};

use crate::AppState;
use crate::auth::permissions::{Action, any_allowed};
use crate::auth::session::CurrentUser;
use crate::error::WebResult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pools", get(list).post(save))
        .route("/pools/{name}/delete", post(delete))
}

struct Row {
    pool: String,
    slots: String,
    description: String,
    include_deferred: bool,
}

impl From<PoolRow> for Row {
    fn from(p: PoolRow) -> Self {
        Self {
            pool: p.pool,
            slots: p.slots.to_string(),
            description: p.description.unwrap_or_default(),
            include_deferred: p.include_deferred,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pools.html")]
struct PoolsPage {
    username: String,
    csrf_token: String,
    can_edit: bool,
    rows: Vec<Row>,
    form: Row,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    me: CurrentUser,
    form: Row,
    error: Option<String>,
) -> WebResult<PoolsPage> {
    let mut conn = state.pool.acquire().await?;
    let rows = pools::list(&mut conn)
        .await?
        .into_iter()
        .map(Row::from)
        .collect();
    Ok(PoolsPage {
        can_edit: any_allowed(&me.user.roles, Action::EditPools),
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        rows,
        form,
        error,
    })
}

fn empty() -> Row {
    Row {
        pool: String::new(),
        slots: "128".into(),
        description: String::new(),
        include_deferred: false,
    }
}

async fn list(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Query(q): Query<EditQuery>,
) -> WebResult<PoolsPage> {
    me.check_allowed(Action::ReadDags)?;
    let mut form = empty();
    if !q.edit.is_empty() {
        let mut conn = state.pool.acquire().await?;
        if let Some(p) = pools::get(&mut conn, &q.edit).await? {
            form = Row::from(p);
        }
    }
    page(&state, me, form, None).await
}

#[derive(Debug, Deserialize)]
struct PoolForm {
    #[serde(default)]
    pool: String,
    #[serde(default)]
    slots: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    include_deferred: Option<String>,
    #[serde(default)]
    csrf_token: String,
}

async fn save(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Form(f): Form<PoolForm>,
) -> WebResult<Response> {
    me.check_csrf(&f.csrf_token)?;
    me.check_allowed(Action::EditPools)?;
    let name = f.pool.trim().to_owned();
    let slots = f.slots.trim().parse::<i32>().ok().filter(|s| *s >= -1);
    let (Some(slots), false) = (slots, name.is_empty()) else {
        let form = Row {
            pool: name,
            slots: f.slots,
            description: f.description,
            include_deferred: f.include_deferred.is_some(),
        };
        let message = "A pool needs a name and slots: a whole number, -1 for unlimited.";
        let page = page(&state, me, form, Some(message.into())).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    let row = PoolRow {
        pool: name,
        slots,
        description: Some(f.description.trim().to_owned()).filter(|d| !d.is_empty()),
        include_deferred: f.include_deferred.is_some(),
    };
    let mut tx = state.pool.begin().await?;
    pools::set(&mut tx, &row).await?;
    me.audit(
        &mut tx,
        "pool_set",
        None,
        serde_json::json!({
             "pool": row.pool, "slots": row.slots,
             "include_deferred": row.include_deferred ,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/pools").into_response())
}

async fn delete(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(name): Path<String>,
    Form(f): Form<CsrfForm>,
) -> WebResult<Response> {
    me.check_csrf(&f.csrf_token)?;
    me.check_allowed(Action::EditPools)?;
    if name == DEFAULT_POOL {
        return Ok((StatusCode::CONFLICT, "default_pool cannot be deleted.").into_response());
    }
    let mut tx = state.pool.begin().await?;
    let deleted = match pools::delete(&mut tx, &name).await {
        Ok(d) => d,
        Err(updraft_core::Error::Database(sqlx::Error::Database(e)))
            if e.is_foreign_key_violation() =>
        {
            return Ok((
                StatusCode::CONFLICT,
                format!("Pool {name} is still used by task instances."),
            )
                .into_response());
        }
        Err(e) => return Err(e.into()),
    };
    if deleted.is_none() {
        return Ok((StatusCode::NOT_FOUND, format!("Pool {name} not found.")).into_response());
    }
    me.audit(
        &mut tx,
        "pool_delete",
        None,
        serde_json::json!({"pool": name}),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/pools").into_response())
}
