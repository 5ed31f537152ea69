//! `/variables`: the Variables, with a create/edit form and delete.
//! Values of keys that name a secret (Airflow's sensitive names) are shown
//! as `***`; `***` sent back keeps the stored value.

use super::{CsrfForm, EditQuery};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use updraft_core::model::secrets::{HIDDEN, is_sensitive_key};
use updraft_core::store::variables;

use crate::AppState;
use crate::auth::permissions::{Action, any_allowed};
use crate::auth::session::CurrentUser;
use crate::error::WebResult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/variables", get(list).post(save))
        .route("/variables/{key}/delete", post(delete))
}

struct Row {
    key: String,
    val: String,
    description: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "variables.html")]
struct VariablesPage {
    username: String,
    csrf_token: String,
    can_edit: bool,
    rows: Vec<Row>,
    form: Row,
    error: Option<String>,
}

fn shown(key: &str, val: String) -> String {
    if is_sensitive_key(key) {
        HIDDEN.to_owned()
    } else {
        val
    }
}

async fn page(
    state: &AppState,
    me: CurrentUser,
    form: Row,
    error: Option<String>,
) -> WebResult<VariablesPage> {
    let mut conn = state.pool.acquire().await?;
    let rows = variables::list(&mut conn)
        .await?
        .into_iter()
        .map(|v| Row {
            val: shown(&v.key, v.val),
            key: v.key,
            description: v.description.unwrap_or_default(),
        })
        .collect();
    Ok(VariablesPage {
        can_edit: any_allowed(&me.user.roles, Action::EditVariables),
        username: me.user.username,
        csrf_token: me.user.csrf_token,
        rows,
        form,
        error,
    })
}

async fn list(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Query(q): Query<EditQuery>,
) -> WebResult<VariablesPage> {
    me.check_allowed(Action::ReadDags)?;
    let mut form = Row {
        key: String::new(),
        val: String::new(),
        description: String::new(),
    };
    if !q.edit.is_empty() {
        let mut conn = state.pool.acquire().await?;
        if let Some(v) = variables::get(&mut conn, &q.edit).await? {
            form = Row {
                val: shown(&v.key, v.val),
                key: v.key,
                description: v.description.unwrap_or_default(),
            };
        }
    }
    page(&state, me, form, None).await
}

#[derive(Debug, Deserialize)]
struct VariableForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    val: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    csrf_token: String,
}

async fn save(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Form(f): Form<VariableForm>,
) -> WebResult<Response> {
    me.check_csrf(&f.csrf_token)?;
    me.check_allowed(Action::EditVariables)?;
    let key = f.key.trim().to_owned();
    if key.is_empty() {
        let form = Row {
            key,
            val: f.val,
            description: f.description,
        };
        let page = page(&state, me, form, Some("The key is required.".into())).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let mut tx = state.pool.begin().await?;
    let stored = variables::get(&mut tx, &key).await?;
    // A hidden value sent back unchanged keeps the stored one.
    let val = match stored {
        Some(v) if f.val == HIDDEN && is_sensitive_key(&key) => v.val,
        _ => f.val,
    };
    let description = f.description.trim();
    let created = variables::set(&mut tx, &key, &val, Some(description)).await?;
    me.audit(
        &mut tx,
        if created {
            "variable_create"
        } else {
            "variable_edit"
        },
        None,
        serde_json::json!({"key": key}),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/variables").into_response())
}

async fn delete(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(key): Path<String>,
    Form(f): Form<CsrfForm>,
) -> WebResult<Response> {
    me.check_csrf(&f.csrf_token)?;
    me.check_allowed(Action::EditVariables)?;
    let mut tx = state.pool.begin().await?;
    if !variables::delete(&mut tx, &key).await? {
        return Ok((StatusCode::NOT_FOUND, format!("Variable {key} not found.")).into_response());
    }
    me.audit(
        &mut tx,
        "variable_delete",
        None,
        serde_json::json!({"key": key}),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/variables").into_response())
}
