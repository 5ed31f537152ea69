//! One module per page group, each with its `router()`.

pub mod audit_log;
pub mod backfill;
pub mod connections;
pub mod dag;
mod grid;
pub mod health;
pub mod hitl;
pub mod home;
pub mod login;
pub mod pools;
pub mod static_files;
pub mod task_actions;
mod task_instance;
pub mod trigger;
pub mod variables;

/// The action pages (issue 5, wt-actions): trigger, clear/mark, the audit
/// log, variables, connections and pools.
pub fn actions_router() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .merge(trigger::router())
        .merge(task_actions::router())
        .merge(audit_log::router())
        .merge(variables::router())
        .merge(connections::router())
        .merge(pools::router())
        .merge(backfill::router())
}

/// A form that carries only the session's CSRF token (delete, sign out).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub csrf_token: String,
}

/// `?edit=<id>` on a settings list page: which row the form edits.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct EditQuery {
    #[serde(default)]
    pub edit: String,
}
