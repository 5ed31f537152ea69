//! A DAG's tasks (`GET /dags/{dag_id}/tasks` and `/tasks/{task_id}`), read
//! from the DAG's current serialized form (`core::store::dags::serialized`).

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use updraft_core::auth::permissions::Action;
use updraft_core::model::serialized::SerializedTask;
use updraft_core::store::dags;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Params, PathOf, order_by};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_tasks))
        .routes(routes!(get_task))
}

/// Python's `timedelta` as Airflow serializes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeDelta {
    #[serde(rename = "__type")]
    pub kind: String,
    pub days: i64,
    pub seconds: i64,
    pub microseconds: i64,
}

impl TimeDelta {
    fn from_seconds(total: f64) -> Option<Self> {
        if !total.is_finite() || total < 0.0 {
            return None;
        }
        let micros = (total * 1_000_000.0).round() as i64;
        Some(Self {
            kind: "TimeDelta".to_owned(),
            days: micros / 86_400_000_000,
            seconds: (micros % 86_400_000_000) / 1_000_000,
            microseconds: micros % 1_000_000,
        })
    }
}

/// Airflow's `TaskResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskResponse {
    pub task_id: String,
    pub task_display_name: String,
    pub owner: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub trigger_rule: String,
    pub depends_on_past: bool,
    pub wait_for_downstream: bool,
    pub retries: Option<f64>,
    pub queue: Option<String>,
    pub pool: Option<String>,
    pub pool_slots: Option<f64>,
    pub execution_timeout: Option<TimeDelta>,
    pub retry_delay: Option<TimeDelta>,
    pub retry_exponential_backoff: bool,
    pub priority_weight: Option<f64>,
    pub weight_rule: Option<String>,
    pub ui_color: Option<String>,
    pub ui_fgcolor: Option<String>,
    pub template_fields: Vec<String>,
    pub downstream_task_ids: Vec<String>,
    pub doc_md: Option<String>,
    pub operator_name: String,
    pub params: Value,
    pub class_ref: Value,
    pub is_mapped: bool,
    pub extra_links: Vec<String>,
}

fn task_response(raw: &Value, t: SerializedTask) -> TaskResponse {
    let text = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_owned);
    let start_date = t
        .start_date
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc));
    TaskResponse {
        task_display_name: text("task_display_name").unwrap_or_else(|| t.task_id.clone()),
        owner: text("owner"),
        start_date,
        end_date: text("end_date")
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&Utc)),
        trigger_rule: t.trigger_rule,
        depends_on_past: t.depends_on_past,
        wait_for_downstream: t.wait_for_downstream,
        retries: t.retries,
        queue: t.queue,
        pool: t.pool,
        pool_slots: t.pool_slots,
        execution_timeout: raw
            .get("execution_timeout")
            .and_then(Value::as_f64)
            .and_then(TimeDelta::from_seconds),
        retry_delay: t.retry_delay.and_then(TimeDelta::from_seconds),
        retry_exponential_backoff: t.retry_exponential_backoff,
        priority_weight: t.priority_weight,
        weight_rule: t
            .weight_rule
            .as_ref()
            .and_then(Value::as_str)
            .map(str::to_owned),
        ui_color: text("ui_color"),
        ui_fgcolor: text("ui_fgcolor"),
        template_fields: raw
            .get("template_fields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        downstream_task_ids: {
            let mut ids = t.downstream_task_ids;
            ids.sort();
            ids
        },
        doc_md: text("doc_md"),
        operator_name: t.task_type.clone(),
        params: raw
            .get("params")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({})),
        class_ref: serde_json::json!({"class_name": t.task_type}),
        is_mapped: t.mapped.is_some(),
        extra_links: Vec::new(),
        task_id: t.task_id,
    }
}

/// The DAG's tasks, or Airflow's 404.
async fn tasks_of(state: &ApiState, dag_id: &str) -> ApiResult<Vec<TaskResponse>> {
    let not_found = || ApiError::NotFound(format!("Dag with id {dag_id} was not found"));
    let data = dags::serialized(&state.pool, dag_id)
        .await?
        .ok_or_else(not_found)?;
    let raws = data
        .get("tasks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::with_capacity(raws.len());
    for raw in raws {
        let task: SerializedTask = serde_json::from_value(raw.clone())
            .map_err(|e| ApiError::Internal(format!("DAG {dag_id}: stored task malformed: {e}")))?;
        out.push(task_response(&raw, task));
    }
    Ok(out)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskCollectionResponse {
    pub tasks: Vec<TaskResponse>,
    pub total_entries: i64,
}

/// Orders Airflow allows here (attributes of the task).
#[derive(Debug, Clone, Copy)]
enum TaskOrder {
    TaskId,
    Operator,
}

impl TaskOrder {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "task_id" => Some(Self::TaskId),
            "operator_name" => Some(Self::Operator),
            _ => None,
        }
    }
}

/// List a DAG's tasks.
#[utoipa::path(get, path = "/dags/{dag_id}/tasks", tag = "Task",
    params(("dag_id" = String, Path),
           ("order_by" = Option<String>, Query, description = "task_id or operator_name; `-` for descending")),
    responses(
        (status = 200, body = TaskCollectionResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_tasks(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(dag_id): PathOf<String>,
    params: Params,
) -> ApiResult<axum::Json<TaskCollectionResponse>> {
    caller.require(Action::ReadDags)?;
    let (order, descending) = order_by(&params, TaskOrder::TaskId, TaskOrder::parse)?;
    let mut tasks = tasks_of(&state, &dag_id).await?;
    match order {
        TaskOrder::TaskId => tasks.sort_by(|a, b| a.task_id.cmp(&b.task_id)),
        TaskOrder::Operator => tasks
            .sort_by(|a, b| (&a.operator_name, &a.task_id).cmp(&(&b.operator_name, &b.task_id))),
    }
    if descending {
        tasks.reverse();
    }
    Ok(axum::Json(TaskCollectionResponse {
        total_entries: i64::try_from(tasks.len()).unwrap_or(i64::MAX),
        tasks,
    }))
}

/// Get one task of a DAG.
#[utoipa::path(get, path = "/dags/{dag_id}/tasks/{task_id}", tag = "Task",
    params(("dag_id" = String, Path), ("task_id" = String, Path)),
    responses(
        (status = 200, body = TaskResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_task(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, task_id)): PathOf<(String, String)>,
) -> ApiResult<axum::Json<TaskResponse>> {
    caller.require(Action::ReadDags)?;
    tasks_of(&state, &dag_id)
        .await?
        .into_iter()
        .find(|t| t.task_id == task_id)
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("Task with id {task_id} was not found")))
}
