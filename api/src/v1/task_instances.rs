//! Task instances in Airflow 2's shapes: list and get, a try's log, XCom
//! entries, and `POST /dags/{dag_id}/clearTaskInstances`; answered by the
//! functions behind the v2 handlers (and the log reader they share).

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use updraft_core::auth::permissions::Action;
use utoipa::ToSchema;

use super::auth::BasicCaller;
use super::error::{Json, PathOf, Query, V1Error, V1Result};
use crate::ApiState;
use crate::extract::Params;
use crate::task_instances::{self as v2, ClearTaskInstancesBody, TaskInstanceResponse};
use crate::xcoms::{self, XComResponse};

/// Airflow 2.10's `TaskInstance`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskInstance {
    pub task_id: String,
    pub task_display_name: String,
    pub dag_id: String,
    pub dag_run_id: String,
    /// The run's logical date, or (a run without one) when it ran.
    pub execution_date: DateTime<Utc>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub duration: Option<f64>,
    pub state: Option<String>,
    pub try_number: i32,
    pub map_index: i32,
    pub max_tries: i32,
    /// Airflow 2's spec makes these two strings (empty until it runs).
    pub hostname: String,
    pub unixname: String,
    pub pool: String,
    pub pool_slots: i32,
    pub queue: Option<String>,
    pub priority_weight: Option<i32>,
    pub operator: Option<String>,
    pub queued_when: Option<DateTime<Utc>>,
    pub pid: Option<i32>,
    pub executor: Option<String>,
    pub executor_config: String,
    pub sla_miss: Option<Value>,
    pub rendered_map_index: Option<String>,
    pub rendered_fields: Value,
    pub trigger: Option<Value>,
    pub triggerer_job: Option<Value>,
    pub note: Option<String>,
}

impl From<TaskInstanceResponse> for TaskInstance {
    fn from(t: TaskInstanceResponse) -> Self {
        Self {
            task_id: t.task_id,
            task_display_name: t.task_display_name,
            dag_id: t.dag_id,
            dag_run_id: t.dag_run_id,
            execution_date: t.logical_date.unwrap_or(t.run_after),
            start_date: t.start_date,
            end_date: t.end_date,
            duration: t.duration,
            state: t.state,
            try_number: t.try_number,
            map_index: t.map_index,
            max_tries: t.max_tries,
            hostname: t.hostname.unwrap_or_default(),
            unixname: t.unixname.unwrap_or_default(),
            pool: t.pool,
            pool_slots: t.pool_slots,
            queue: t.queue,
            priority_weight: t.priority_weight,
            operator: t.operator,
            queued_when: t.queued_when,
            pid: t.pid,
            executor: t.executor,
            executor_config: t.executor_config,
            sla_miss: None,
            rendered_map_index: t.rendered_map_index,
            rendered_fields: t.rendered_fields.unwrap_or_else(|| serde_json::json!({})),
            trigger: None,
            triggerer_job: None,
            note: t.note,
        }
    }
}

/// `TaskInstanceCollection`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskInstanceCollection {
    pub task_instances: Vec<TaskInstance>,
    pub total_entries: i64,
}

/// `execution_date_gte/lte` are v2's `logical_date_*`.
fn v2_params(params: Params) -> Params {
    params.map(|k, v| match k.strip_prefix("execution_date") {
        Some(rest) => (format!("logical_date{rest}"), v),
        None => (k, v),
    })
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", tag = "TaskInstance",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path)),
    responses(
        (status = 200, body = TaskInstanceCollection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_task_instances(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(ids): PathOf<(String, String)>,
    Query(params): Query,
) -> V1Result<axum::Json<TaskInstanceCollection>> {
    let page = v2::serve_get_task_instances(state, caller, ids, v2_params(params))
        .await?
        .0;
    Ok(axum::Json(TaskInstanceCollection {
        task_instances: page
            .task_instances
            .into_iter()
            .map(TaskInstance::from)
            .collect(),
        total_entries: page.total_entries,
    }))
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", tag = "TaskInstance",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path)),
    responses(
        (status = 200, body = TaskInstance),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_task_instance(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(ids): PathOf<(String, String, String)>,
) -> V1Result<axum::Json<TaskInstance>> {
    let ti = v2::serve_get_task_instance(state, caller, ids).await?.0;
    Ok(axum::Json(ti.into()))
}

/// A try's log: `{"continuation_token", "content"}` with the whole text in
/// `content` (the token is a string in 2.x's spec; there is never more to
/// read), or the text itself with `Accept: text/plain`.
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{task_try_number}", tag = "TaskInstance",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), ("task_try_number" = i32, Path)),
    responses(
        (status = 200, body = LogContent),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_log(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    headers: HeaderMap,
    PathOf((dag_id, run_id, task_id, try_number)): PathOf<(String, String, String, i32)>,
    Query(params): Query,
) -> V1Result<Response> {
    caller.require(Action::ReadDags)?;
    let text =
        crate::logs::read_try(&state, (&dag_id, &run_id, &task_id), try_number, &params).await?;
    let wants_text = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("text/plain"));
    if wants_text {
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response());
    }
    Ok(axum::Json(LogContent {
        continuation_token: String::new(),
        content: text,
    })
    .into_response())
}

/// A try's log as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogContent {
    pub continuation_token: String,
    pub content: String,
}

/// Airflow 2.10's `XCom` (`value` only in a single entry: the stored JSON
/// as text).
#[derive(Debug, Serialize, ToSchema)]
pub struct XCom {
    pub key: String,
    pub timestamp: DateTime<Utc>,
    pub execution_date: DateTime<Utc>,
    pub map_index: i32,
    pub task_id: String,
    pub dag_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl From<XComResponse> for XCom {
    fn from(x: XComResponse) -> Self {
        Self {
            key: x.key,
            timestamp: x.timestamp,
            execution_date: x.logical_date.unwrap_or(x.run_after),
            map_index: x.map_index,
            task_id: x.task_id,
            dag_id: x.dag_id,
            value: x.value.map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            }),
        }
    }
}

/// `XComCollection`.
#[derive(Debug, Serialize, ToSchema)]
pub struct XComCollection {
    pub xcom_entries: Vec<XCom>,
    pub total_entries: i64,
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries", tag = "XCom",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path)),
    responses(
        (status = 200, body = XComCollection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_xcom_entries(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(ids): PathOf<(String, String, String)>,
    Query(params): Query,
) -> V1Result<axum::Json<XComCollection>> {
    let page = xcoms::serve_get_xcom_entries(state, caller, ids, params)
        .await?
        .0;
    Ok(axum::Json(XComCollection {
        xcom_entries: page.xcom_entries.into_iter().map(XCom::from).collect(),
        total_entries: page.total_entries,
    }))
}

/// One entry: `value` is the stored JSON as text, or with `deserialize`
/// the value itself (a string as it is, anything else as JSON text), as
/// Airflow 2 answers it.
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}", tag = "XCom",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), ("xcom_key" = String, Path)),
    responses(
        (status = 200, body = XCom),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_xcom_entry(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(ids): PathOf<(String, String, String, String)>,
    Query(params): Query,
) -> V1Result<axum::Json<XCom>> {
    let entry = xcoms::serve_get_xcom_entry(state, caller, ids, params)
        .await?
        .0;
    Ok(axum::Json(entry.into()))
}

/// Airflow 2.10's `ClearTaskInstances`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClearBody {
    #[serde(default = "yes")]
    pub dry_run: bool,
    #[serde(default)]
    pub task_ids: Option<Vec<Value>>,
    #[serde(default)]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end_date: Option<DateTime<Utc>>,
    #[serde(default = "yes")]
    pub only_failed: bool,
    #[serde(default)]
    pub only_running: bool,
    #[serde(default)]
    pub include_subdags: bool,
    #[serde(default)]
    pub include_parentdag: bool,
    #[serde(default = "yes")]
    pub reset_dag_runs: bool,
    #[serde(default)]
    pub dag_run_id: Option<String>,
    #[serde(default)]
    pub include_upstream: bool,
    #[serde(default)]
    pub include_downstream: bool,
    #[serde(default)]
    pub include_future: bool,
    #[serde(default)]
    pub include_past: bool,
}

fn yes() -> bool {
    true
}

/// `TaskInstanceReference`: what a clear touched.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskInstanceReference {
    pub task_id: String,
    pub dag_id: String,
    pub dag_run_id: String,
    pub execution_date: Option<DateTime<Utc>>,
}

/// `TaskInstanceReferenceCollection`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskInstanceReferenceCollection {
    pub task_instances: Vec<TaskInstanceReference>,
}

#[utoipa::path(post, path = "/dags/{dag_id}/clearTaskInstances", tag = "DAG",
    params(("dag_id" = String, Path)),
    responses(
        (status = 200, body = TaskInstanceReferenceCollection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn clear_task_instances(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(dag_id): PathOf<String>,
    Json(body): Json<ClearBody>,
) -> V1Result<axum::Json<TaskInstanceReferenceCollection>> {
    if body.include_subdags || body.include_parentdag {
        return Err(V1Error::bad_request("Updraft has no SubDAGs"));
    }
    let v2_body = ClearTaskInstancesBody {
        dry_run: body.dry_run,
        dag_run_id: body.dag_run_id,
        task_ids: body.task_ids,
        start_date: body.start_date,
        end_date: body.end_date,
        only_failed: body.only_failed,
        only_running: body.only_running,
        reset_dag_runs: body.reset_dag_runs,
        include_upstream: body.include_upstream,
        include_downstream: body.include_downstream,
        include_future: body.include_future,
        include_past: body.include_past,
        run_on_latest_version: false,
    };
    let cleared = v2::serve_clear_task_instances(state, caller, dag_id, v2_body)
        .await?
        .0;
    Ok(axum::Json(TaskInstanceReferenceCollection {
        task_instances: cleared
            .task_instances
            .into_iter()
            .map(|t| TaskInstanceReference {
                task_id: t.task_id,
                dag_id: t.dag_id,
                dag_run_id: t.dag_run_id,
                execution_date: t.logical_date,
            })
            .collect(),
    }))
}
