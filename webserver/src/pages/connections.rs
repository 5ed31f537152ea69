//! `/connections`: the Connections, with a create/edit form and delete.
//! Passwords and secret extras never go to the browser: the edit form
//! leaves the password empty (unchanged if left empty) and shows secret
//! extras as `***`, keeping the stored value when `***` comes back.

use super::{CsrfForm, EditQuery};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::Value;
use updraft_core::model::secrets::{masked, restore_hidden};
use updraft_core::store::connections::{self, ConnectionRow};

use crate::AppState;
use crate::auth::permissions::{Action, any_allowed};
use crate::auth::session::CurrentUser;
use crate::error::WebResult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connections", get(list).post(save))
        .route("/connections/{conn_id}/delete", post(delete))
}

/// A connection as the page shows it: never its password.
#[derive(Default)]
struct Row {
    conn_id: String,
    conn_type: String,
    description: String,
    host: String,
    schema: String,
    login: String,
    port: String,
    has_password: bool,
    /// With secret values as `***`.
    extra: String,
}

impl From<ConnectionRow> for Row {
    fn from(c: ConnectionRow) -> Self {
        let m = masked(&c);
        Self {
            has_password: c.password.is_some(),
            extra: m.extra_text().unwrap_or_default(),
            conn_id: m.conn_id,
            conn_type: m.conn_type,
            description: m.description.unwrap_or_default(),
            host: m.host.unwrap_or_default(),
            schema: m.schema.unwrap_or_default(),
            login: m.login.unwrap_or_default(),
            port: m.port.map(|p| p.to_string()).unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "connections.html")]
struct ConnectionsPage {
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
) -> WebResult<ConnectionsPage> {
    let mut conn = state.pool.acquire().await?;
    let rows = connections::all(&mut conn)
        .await?
        .into_iter()
        .map(Row::from)
        .collect();
    Ok(ConnectionsPage {
        can_edit: any_allowed(&me.user.roles, Action::EditConnections),
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
) -> WebResult<ConnectionsPage> {
    me.check_allowed(Action::ReadDags)?;
    let mut form = Row::default();
    if !q.edit.is_empty() {
        let mut conn = state.pool.acquire().await?;
        if let Some(c) = connections::get(&mut conn, &q.edit).await? {
            form = Row::from(c);
        }
    }
    page(&state, me, form, None).await
}

#[derive(Debug, Deserialize)]
struct ConnectionForm {
    #[serde(default)]
    conn_id: String,
    #[serde(default)]
    conn_type: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    schema: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    extra: String,
    #[serde(default)]
    csrf_token: String,
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

async fn save(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Form(f): Form<ConnectionForm>,
) -> WebResult<Response> {
    me.check_csrf(&f.csrf_token)?;
    me.check_allowed(Action::EditConnections)?;
    let conn_id = f.conn_id.trim().to_owned();
    let port = some(&f.port).map(|p| p.parse::<i32>());
    let extra_json = some(&f.extra).map(|e| serde_json::from_str::<Value>(&e));
    let problem = if !is_valid_id(&conn_id) {
        Some("The connection id is required: letters, digits, _ . and - only.")
    } else if f.conn_type.trim().is_empty() {
        Some("The connection type is required.")
    } else if matches!(port, Some(Err(_))) {
        Some("The port must be a whole number.")
    } else if matches!(extra_json, Some(Err(_)) | Some(Ok(Value::Array(_)))) {
        Some("Extra must be a JSON object.")
    } else {
        None
    };
    if let Some(problem) = problem {
        // The form comes back without the password typed.
        let form = Row {
            conn_id,
            conn_type: f.conn_type,
            description: f.description,
            host: f.host,
            schema: f.schema,
            login: f.login,
            port: f.port,
            has_password: false,
            extra: f.extra,
        };
        let page = page(&state, me, form, Some(problem.into())).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let mut tx = state.pool.begin().await?;
    let stored = connections::get(&mut tx, &conn_id).await?;
    // An empty password keeps the stored one; hidden extras keep theirs.
    let password = match (some(&f.password), &stored) {
        (Some(p), _) => Some(p.into_bytes()),
        (None, Some(old)) => old.password.clone(),
        (None, None) => None,
    };
    let extra = match extra_json {
        Some(Ok(mut edited)) => {
            if let Some(old) = stored
                .as_ref()
                .and_then(ConnectionRow::extra_text)
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            {
                restore_hidden(&mut edited, &old);
            }
            Some(edited.to_string().into_bytes())
        }
        _ => None,
    };
    let row = ConnectionRow {
        conn_id: conn_id.clone(),
        conn_type: f.conn_type.trim().to_owned(),
        description: some(&f.description),
        host: some(&f.host),
        schema: some(&f.schema),
        login: some(&f.login),
        password,
        port: port.and_then(Result::ok),
        extra,
    };
    connections::put(&mut tx, &row, true).await?;
    me.audit(
        &mut tx,
        if stored.is_some() {
            "connection_edit"
        } else {
            "connection_create"
        },
        None,
        serde_json::json!({"conn_id": conn_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/connections").into_response())
}

async fn delete(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Path(conn_id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> WebResult<Response> {
    me.check_csrf(&f.csrf_token)?;
    me.check_allowed(Action::EditConnections)?;
    let mut tx = state.pool.begin().await?;
    if !connections::delete(&mut tx, &conn_id).await? {
        return Ok((
            StatusCode::NOT_FOUND,
            format!("Connection {conn_id} not found."),
        )
            .into_response());
    }
    me.audit(
        &mut tx,
        "connection_delete",
        None,
        serde_json::json!({"conn_id": conn_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/connections").into_response())
}
