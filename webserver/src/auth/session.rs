//! The session gate: every private page runs behind [`require_session`],
//! which finds the signed-in user from the session cookie or redirects to
//! the sign-in page. Handlers take the user as `Extension<CurrentUser>`.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use updraft_core::store::sessions::{self, SessionUser};

use super::permissions::{Action, any_allowed};
use super::{cookies, password, same_secret};
use crate::AppState;
use crate::error::{WebError, WebResult};

/// The answer to a form without this session's CSRF token.
pub const CSRF_REFUSED: &str = "The CSRF token is missing or invalid.";

/// The signed-in user of this request, with their session's token hash.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: SessionUser,
    pub token_hash: String,
}

impl CurrentUser {
    /// Refuses a form whose CSRF token is not this session's (403).
    pub fn check_csrf(&self, token: &str) -> WebResult<()> {
        if same_secret(token, &self.user.csrf_token) {
            Ok(())
        } else {
            Err(WebError::Forbidden(CSRF_REFUSED.to_owned()))
        }
    }

    /// Refuses an action none of the user's roles allows (403).
    pub fn check_allowed(&self, action: Action) -> WebResult<()> {
        if any_allowed(&self.user.roles, action) {
            return Ok(());
        }
        let roles = if self.user.roles.is_empty() {
            "no role".to_owned()
        } else {
            self.user.roles.join(", ")
        };
        Err(WebError::Forbidden(format!(
            "Access denied: your role ({roles}) may not {}.",
            action.describe()
        )))
    }

    /// Writes the audit row of a change this user made in the UI (in the
    /// change's transaction): `extra` gets `"source": "ui"`.
    pub async fn audit(
        &self,
        conn: &mut sqlx::PgConnection,
        event: &str,
        dag_id: Option<&str>,
        mut extra: serde_json::Value,
    ) -> WebResult<()> {
        if let Some(map) = extra.as_object_mut() {
            map.insert("source".into(), "ui".into());
        }
        let entry = updraft_core::store::audit::AuditEntry {
            event,
            owner: &self.user.username,
            dag_id,
            extra,
        };
        updraft_core::store::audit::record(conn, &entry).await?;
        Ok(())
    }
}

/// Lets the request through with a [`CurrentUser`] when its session cookie
/// names a live session; otherwise 303 to `/login?next=<this path>`.
pub async fn require_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> WebResult<Response> {
    if let Some(token) = cookies::get(request.headers(), cookies::SESSION) {
        let token_hash = password::token_hash(&token);
        let mut conn = state.pool.acquire().await?;
        if let Some(user) = sessions::lookup(&mut conn, &token_hash).await? {
            drop(conn);
            request
                .extensions_mut()
                .insert(CurrentUser { user, token_hash });
            return Ok(next.run(request).await);
        }
    }
    let next_path = request
        .uri()
        .path_and_query()
        .map_or("/home", |p| p.as_str());
    let login = format!(
        "/login?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next_path)
            .finish()
    );
    Ok(Redirect::to(&login).into_response())
}

/// Whether `next` is a path on this site (no scheme, no `//host`): where
/// sign-in may send the browser.
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    // Invariant: sign-in never redirects off the site (open redirect).
    #[test]
    fn only_local_paths_are_followed() {
        assert!(is_local_path("/home"));
        assert!(is_local_path("/dags/x?tab=grid"));
        for bad in [
            "",
            "home",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "/a\\b",
            "/a\nb",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }
}
