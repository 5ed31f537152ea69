//! One module per page group, each with its `router()`.

pub mod audit_log;
pub mod backfill;
mod browse;
pub mod connections;
pub mod dag;
mod graph;
mod graph_layout;
mod grid;
pub mod health;
pub mod hitl;
pub mod home;
mod list_query;
pub mod login;
pub mod pools;
mod run;
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

/// The graph, run and browse pages (issue 5, wt-graph).
pub fn graph_router() -> axum::Router<crate::AppState> {
    axum::Router::new()
        .merge(graph::router())
        .merge(run::router())
        .merge(browse::router())
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
