//! A task instance's log per try: `GET .../taskInstances/{task_id}/logs/
//! {try_number}` as Airflow 3 answers it (JSON lines in `content`, or the
//! text with `Accept: text/plain`), read from `task_log`.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use updraft_core::auth::permissions::Action;
use updraft_core::store::task_instances::{self, TiRef};
use updraft_core::store::task_logs;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Params, PathOf};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(get_log))
}

/// One line of a log as Airflow 3's `StructuredLogMessage`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StructuredLogMessage {
    pub event: String,
    pub timestamp: Option<DateTime<Utc>>,
}

/// A try's log (`TaskInstancesLogResponse`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskInstancesLogResponse {
    pub content: Vec<StructuredLogMessage>,
    pub continuation_token: Option<String>,
}

/// The text of one try's log (`map_index` from the query; a missing task
/// instance or try is a 404). Shared with `/api/v1`.
pub(crate) async fn read_try(
    state: &ApiState,
    (dag_id, run_id, task_id): (&str, &str, &str),
    try_number: i32,
    params: &Params,
) -> ApiResult<String> {
    let map_index = params.parse("map_index", "int_parsing")?.unwrap_or(-1);
    params.bool("full_content")?;
    let mut conn = state.pool.acquire().await?;
    let ti = TiRef {
        dag_id,
        run_id,
        task_id,
        map_index,
    };
    let Some((ti_id, current_try)) = task_instances::locate(&mut conn, &ti).await? else {
        return Err(ApiError::NotFound("TaskInstance not found".to_owned()));
    };
    if try_number < 1 || try_number > current_try {
        return Err(ApiError::NotFound(format!(
            "Try {try_number} of this task instance not found (its tries: 1 to {current_try})"
        )));
    }
    Ok(task_logs::read(&mut conn, ti_id, try_number).await?)
}

/// Get the log of one try: JSON lines of `content`, or the text itself with
/// `Accept: text/plain`.
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}",
    tag = "Task Instance",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path),
           ("try_number" = i32, Path), ("map_index" = Option<i32>, Query),
           ("full_content" = Option<bool>, Query), ("token" = Option<String>, Query)),
    responses(
        (status = 200, body = TaskInstancesLogResponse, content_type = "application/json"),
        (status = 200, body = String, content_type = "text/plain"),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_log(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    PathOf((dag_id, run_id, task_id, try_number)): PathOf<(String, String, String, i32)>,
    params: Params,
) -> ApiResult<Response> {
    caller.require(Action::ReadDags)?;
    let text = read_try(&state, (&dag_id, &run_id, &task_id), try_number, &params).await?;
    let wants_text = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("text/plain"));
    if wants_text {
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response());
    }
    let content = text
        .lines()
        .map(|line| StructuredLogMessage {
            event: line.to_owned(),
            timestamp: None,
        })
        .collect();
    Ok(axum::Json(TaskInstancesLogResponse {
        content,
        continuation_token: None,
    })
    .into_response())
}
