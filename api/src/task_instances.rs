//! Task instances of a run: list (`~` for every DAG or run), get, mark
//! (`PATCH`, `scheduler::manual::mark`), clear (`POST /dags/{dag_id}/
//! clearTaskInstances`, `scheduler::manual::clear`). Logs and XComs of a
//! task instance: `logs.rs`, `xcoms.rs`.

use std::collections::BTreeSet;

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use updraft_core::auth::permissions::Action;
use updraft_core::store::task_instances::{self, TiView};
use updraft_core::store::ti_catalog::{self, TiEntry, TiOrder, TiQuery};
use updraft_core::store::ti_state::MarkAs;
use updraft_scheduler::manual::{self, Spread};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::ApiState;
use crate::auth::Caller;
use crate::dag_runs::{DagVersionResponse, dag_exists};
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Body, Page, Params, PathOf, order_by};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_task_instances))
        .routes(routes!(get_task_instance, patch_task_instance))
        .routes(routes!(get_mapped_task_instance))
        .routes(routes!(clear_task_instances))
}

/// A task instance, as Airflow's `TaskInstanceResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskInstanceResponse {
    pub id: String,
    pub task_id: String,
    pub dag_id: String,
    pub dag_run_id: String,
    pub map_index: i32,
    pub logical_date: Option<DateTime<Utc>>,
    pub run_after: DateTime<Utc>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub duration: Option<f64>,
    pub state: Option<String>,
    pub try_number: i32,
    pub max_tries: i32,
    pub task_display_name: String,
    pub dag_display_name: String,
    pub hostname: Option<String>,
    pub unixname: Option<String>,
    pub pool: String,
    pub pool_slots: i32,
    pub queue: Option<String>,
    pub priority_weight: Option<i32>,
    pub operator: Option<String>,
    pub operator_name: Option<String>,
    pub queued_when: Option<DateTime<Utc>>,
    pub scheduled_when: Option<DateTime<Utc>>,
    pub pid: Option<i32>,
    pub executor: Option<String>,
    pub executor_config: String,
    pub note: Option<String>,
    pub rendered_map_index: Option<String>,
    pub rendered_fields: Option<Value>,
    pub trigger: Option<Value>,
    pub triggerer_job: Option<Value>,
    pub dag_version: Option<DagVersionResponse>,
}

impl From<TiEntry> for TaskInstanceResponse {
    fn from(t: TiEntry) -> Self {
        let display = t.dag_display_name.unwrap_or_else(|| t.dag_id.clone());
        let dag_version = match (t.dag_version_id, t.version_number, t.version_created_at) {
            (Some(id), Some(version_number), Some(created_at)) => Some(DagVersionResponse {
                id: crate::dag_runs::version_uuid(id),
                version_number,
                dag_id: t.dag_id.clone(),
                bundle_name: "dags-folder".to_owned(),
                bundle_version: None,
                bundle_url: None,
                created_at,
                dag_display_name: display.clone(),
            }),
            _ => None,
        };
        Self {
            id: t.id.to_string(),
            task_display_name: t.task_id.clone(),
            task_id: t.task_id,
            dag_id: t.dag_id,
            dag_run_id: t.run_id,
            map_index: t.map_index,
            logical_date: t.logical_date,
            run_after: t.run_after,
            start_date: t.start_date,
            end_date: t.end_date,
            duration: t.duration,
            state: t.state,
            try_number: t.try_number,
            max_tries: t.max_tries,
            dag_display_name: display,
            hostname: t.hostname,
            unixname: None,
            pool: t.pool,
            pool_slots: t.pool_slots,
            queue: Some(t.queue),
            priority_weight: Some(t.priority_weight),
            operator_name: t.operator.clone(),
            operator: t.operator,
            queued_when: t.queued_at,
            scheduled_when: None,
            pid: t.pid,
            executor: None,
            executor_config: "{}".to_owned(),
            note: t.note,
            rendered_map_index: None,
            rendered_fields: t.rendered_fields,
            trigger: None,
            triggerer_job: None,
            dag_version,
        }
    }
}

/// A page of task instances.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskInstanceCollectionResponse {
    pub task_instances: Vec<TaskInstanceResponse>,
    pub total_entries: i64,
}

const TI_STATES: [&str; 13] = [
    "no_status",
    "scheduled",
    "queued",
    "running",
    "success",
    "failed",
    "skipped",
    "upstream_failed",
    "up_for_retry",
    "up_for_reschedule",
    "deferred",
    "removed",
    "restarting",
];

/// The task instances with these ids, in the natural order.
pub(crate) async fn by_ids(state: &ApiState, ids: &[Uuid]) -> ApiResult<Vec<TaskInstanceResponse>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = TiQuery {
        ids: Some(ids.to_vec()),
        limit: i64::try_from(ids.len()).unwrap_or(i64::MAX),
        ..TiQuery::default()
    };
    let (rows, _) = ti_catalog::page(&state.pool, &q).await?;
    Ok(rows.into_iter().map(TaskInstanceResponse::from).collect())
}

/// List the task instances of a run (`~` for every DAG or run).
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", tag = "Task Instance",
    params(
        ("dag_id" = String, Path), ("dag_run_id" = String, Path),
        ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
        ("order_by" = Option<String>, Query),
        ("state" = Option<Vec<String>>, Query, description = "`no_status` for none"),
        ("task_id" = Option<String>, Query), ("map_index" = Option<i32>, Query),
    ),
    responses(
        (status = 200, body = TaskInstanceCollectionResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_task_instances(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id)): PathOf<(String, String)>,
    params: Params,
) -> ApiResult<axum::Json<TaskInstanceCollectionResponse>> {
    serve_get_task_instances(state, caller, (dag_id, run_id), params).await
}

/// `get_task_instances` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_task_instances(
    state: ApiState,
    caller: Caller,
    (dag_id, run_id): (String, String),
    params: Params,
) -> ApiResult<axum::Json<TaskInstanceCollectionResponse>> {
    caller.require(Action::ReadDags)?;
    let page = Page::from_params(&params)?;
    let (order, descending) = order_by(&params, TiOrder::Default, TiOrder::parse)?;
    let states = params.all("state");
    if let Some(bad) = states.iter().find(|s| !TI_STATES.contains(&s.as_str())) {
        return Err(ApiError::invalid(
            &["query", "state"],
            "enum",
            format!(
                "Input should be one of {}, got {bad:?}",
                TI_STATES.join(", ")
            ),
        ));
    }
    if dag_id != "~" {
        dag_exists(&state, &dag_id).await?;
    }
    let q = TiQuery {
        dag_id: (dag_id != "~").then(|| dag_id.clone()),
        run_id: (run_id != "~").then(|| run_id.clone()),
        task_id: params.get("task_id").map(str::to_owned),
        map_index: params.parse("map_index", "int_parsing")?,
        ids: None,
        states,
        order_by: order,
        descending,
        limit: page.limit,
        offset: page.offset,
    };
    let (rows, total_entries) = ti_catalog::page(&state.pool, &q).await?;
    Ok(axum::Json(TaskInstanceCollectionResponse {
        task_instances: rows.into_iter().map(TaskInstanceResponse::from).collect(),
        total_entries,
    }))
}

/// One task instance, or Airflow's 404.
pub(crate) async fn one(
    state: &ApiState,
    dag_id: &str,
    run_id: &str,
    task_id: &str,
    map_index: i32,
) -> ApiResult<TiEntry> {
    let q = TiQuery {
        dag_id: Some(dag_id.to_owned()),
        run_id: Some(run_id.to_owned()),
        task_id: Some(task_id.to_owned()),
        map_index: Some(map_index),
        limit: 1,
        ..TiQuery::default()
    };
    ti_catalog::page(&state.pool, &q).await?.0.pop().ok_or_else(|| {
        ApiError::NotFound(format!(
            "The Task Instance with dag_id: `{dag_id}`, run_id: `{run_id}`, task_id: `{task_id}` \
             and map_index: `{map_index}` was not found"
        ))
    })
}

/// Get a task instance (map index -1).
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", tag = "Task Instance",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path)),
    responses(
        (status = 200, body = TaskInstanceResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn get_task_instance(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id, task_id)): PathOf<(String, String, String)>,
) -> ApiResult<axum::Json<TaskInstanceResponse>> {
    serve_get_task_instance(state, caller, (dag_id, run_id, task_id)).await
}

/// `get_task_instance` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_task_instance(
    state: ApiState,
    caller: Caller,
    (dag_id, run_id, task_id): (String, String, String),
) -> ApiResult<axum::Json<TaskInstanceResponse>> {
    caller.require(Action::ReadDags)?;
    Ok(axum::Json(
        one(&state, &dag_id, &run_id, &task_id, -1).await?.into(),
    ))
}

/// Get a mapped task instance.
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}", tag = "Task Instance",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path),
           ("map_index" = i32, Path)),
    responses(
        (status = 200, body = TaskInstanceResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_mapped_task_instance(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id, task_id, map_index)): PathOf<(String, String, String, i32)>,
) -> ApiResult<axum::Json<TaskInstanceResponse>> {
    caller.require(Action::ReadDags)?;
    Ok(axum::Json(
        one(&state, &dag_id, &run_id, &task_id, map_index)
            .await?
            .into(),
    ))
}

/// `PATCH .../taskInstances/{task_id}`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTaskInstanceBody {
    /// success, failed or skipped.
    pub new_state: Option<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub include_upstream: bool,
    #[serde(default)]
    pub include_downstream: bool,
    #[serde(default)]
    pub include_future: bool,
    #[serde(default)]
    pub include_past: bool,
}

/// Mark a task instance (and the relatives asked for) success, failed or
/// skipped; answers the task instances changed.
#[utoipa::path(patch, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", tag = "Task Instance",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path),
           ("map_index" = Option<i32>, Query)),
    request_body = PatchTaskInstanceBody,
    responses(
        (status = 200, body = TaskInstanceCollectionResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn patch_task_instance(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id, task_id)): PathOf<(String, String, String)>,
    params: Params,
    Body(body): Body<PatchTaskInstanceBody>,
) -> ApiResult<axum::Json<TaskInstanceCollectionResponse>> {
    caller.require(Action::EditTaskInstances)?;
    let map_index = params.parse("map_index", "int_parsing")?.unwrap_or(-1);
    if body.note.is_some() {
        return Err(ApiError::BadRequest(
            "`note` is not supported by Updraft yet".to_owned(),
        ));
    }
    let to = match body.new_state.as_deref() {
        Some("success") => MarkAs::Success,
        Some("failed") => MarkAs::Failed,
        Some("skipped") => MarkAs::Skipped,
        None => {
            return Err(ApiError::invalid(
                &["body", "new_state"],
                "missing",
                "Field required",
            ));
        }
        Some(other) => {
            return Err(ApiError::invalid(
                &["body", "new_state"],
                "enum",
                format!("Input should be 'success', 'failed' or 'skipped', got {other:?}"),
            ));
        }
    };
    one(&state, &dag_id, &run_id, &task_id, map_index).await?;
    let spread = Spread {
        upstream: body.include_upstream,
        downstream: body.include_downstream,
        past: body.include_past,
        future: body.include_future,
        only_failed: false,
    };
    let views = affected(&state, &dag_id, &run_id, &task_id, spread).await?;
    let views: Vec<TiView> = views
        .into_iter()
        .filter(|v| v.task_id != task_id || v.run_id != run_id || v.map_index == map_index)
        .collect();
    manual::mark(&state.pool, &views, to, &caller.username).await?;
    let mut tx = state.pool.begin().await?;
    caller
        .audit(
            &mut tx,
            "mark_task_instance",
            Some(&dag_id),
            serde_json::json!({"run_id": run_id, "task_id": task_id, "map_index": map_index,
                               "new_state": body.new_state, "task_instances": views.len()}),
        )
        .await?;
    tx.commit().await?;
    let ids: Vec<Uuid> = views.iter().map(|v| v.id).collect();
    let task_instances = by_ids(&state, &ids).await?;
    Ok(axum::Json(TaskInstanceCollectionResponse {
        total_entries: i64::try_from(task_instances.len()).unwrap_or(i64::MAX),
        task_instances,
    }))
}

/// The task instances a change to `task_id` in `run_id` reaches.
async fn affected(
    state: &ApiState,
    dag_id: &str,
    run_id: &str,
    task_id: &str,
    spread: Spread,
) -> ApiResult<Vec<TiView>> {
    let tasks = manual::dag_tasks(&state.pool, dag_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("The Dag with ID: `{dag_id}` was not found")))?;
    let mut conn = state.pool.acquire().await?;
    Ok(manual::affected(&mut conn, &tasks, dag_id, run_id, task_id, spread).await?)
}

/// `POST /dags/{dag_id}/clearTaskInstances`'s body (`ClearTaskInstancesBody`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearTaskInstancesBody {
    #[serde(default = "yes")]
    pub dry_run: bool,
    pub dag_run_id: Option<String>,
    pub task_ids: Option<Vec<Value>>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    #[serde(default = "yes")]
    pub only_failed: bool,
    #[serde(default)]
    pub only_running: bool,
    #[serde(default = "yes")]
    pub reset_dag_runs: bool,
    #[serde(default)]
    pub include_upstream: bool,
    #[serde(default)]
    pub include_downstream: bool,
    #[serde(default)]
    pub include_future: bool,
    #[serde(default)]
    pub include_past: bool,
    #[serde(default)]
    pub run_on_latest_version: bool,
}

fn yes() -> bool {
    true
}

/// Clear task instances of a DAG (a dry run, the default, lists them).
#[utoipa::path(post, path = "/dags/{dag_id}/clearTaskInstances", tag = "Task Instance",
    params(("dag_id" = String, Path)),
    request_body = ClearTaskInstancesBody,
    responses(
        (status = 200, body = TaskInstanceCollectionResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn clear_task_instances(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(dag_id): PathOf<String>,
    Body(body): Body<ClearTaskInstancesBody>,
) -> ApiResult<axum::Json<TaskInstanceCollectionResponse>> {
    serve_clear_task_instances(state, caller, dag_id, body).await
}

/// `clear_task_instances` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_clear_task_instances(
    state: ApiState,
    caller: Caller,
    dag_id: String,
    body: ClearTaskInstancesBody,
) -> ApiResult<axum::Json<TaskInstanceCollectionResponse>> {
    caller.require(Action::EditTaskInstances)?;
    // Cleared runs always go back to queued (`manual::clear`).
    if !body.reset_dag_runs || body.run_on_latest_version {
        return Err(ApiError::BadRequest(
            "`reset_dag_runs: false` and `run_on_latest_version` are not supported by Updraft yet"
                .to_owned(),
        ));
    }
    // Task ids come as "task" or ["task", map_index].
    let mut wanted: BTreeSet<(String, Option<i32>)> = BTreeSet::new();
    for item in body.task_ids.iter().flatten() {
        let parsed = match item {
            Value::String(id) => Some((id.clone(), None)),
            Value::Array(pair) => match pair.as_slice() {
                [Value::String(id), Value::Number(n)] => n
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .map(|n| (id.clone(), Some(n))),
                _ => None,
            },
            _ => None,
        };
        let Some(entry) = parsed else {
            return Err(ApiError::invalid(
                &["body", "task_ids"],
                "value_error",
                format!("Each task id should be a string or [task_id, map_index], got {item}"),
            ));
        };
        wanted.insert(entry);
    }
    let tasks = manual::dag_tasks(&state.pool, &dag_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("The Dag with ID: `{dag_id}` was not found")))?;
    let names: BTreeSet<String> = wanted.iter().map(|(t, _)| t.clone()).collect();
    let selected = manual::select_tasks(
        &tasks,
        |id| names.is_empty() || names.contains(id),
        body.include_upstream,
        body.include_downstream,
    );
    if let Some(run_id) = &body.dag_run_id {
        crate::dag_runs::dag_exists(&state, &dag_id).await?;
        let mut conn = state.pool.acquire().await?;
        if updraft_core::store::dag_runs::get(&mut conn, &dag_id, run_id)
            .await?
            .is_none()
        {
            return Err(ApiError::NotFound(format!(
                "Dag Run id {run_id} not found in dag {dag_id}"
            )));
        }
    }
    let mut conn = state.pool.acquire().await?;
    let single_run = body
        .dag_run_id
        .as_deref()
        .filter(|_| !body.include_past && !body.include_future);
    let views: Vec<TiView> = task_instances::views(
        &mut conn,
        &dag_id,
        single_run,
        body.start_date.filter(|_| single_run.is_none()),
        body.end_date.filter(|_| single_run.is_none()),
    )
    .await?
    .into_iter()
    .filter(|v| selected.contains(&v.task_id))
    .filter(|v| {
        // A map index named for a task limits that task to it.
        !wanted
            .iter()
            .any(|(t, m)| t == &v.task_id && m.is_some_and(|m| m != v.map_index))
    })
    .filter(|v| {
        !body.only_failed || matches!(v.state.as_deref(), Some("failed" | "upstream_failed"))
    })
    .filter(|v| !body.only_running || v.state.as_deref() == Some("running"))
    .collect();
    drop(conn);
    let ids: Vec<Uuid> = views.iter().map(|v| v.id).collect();
    if !body.dry_run {
        manual::clear(&state.pool, &tasks, &dag_id, &views, &caller.username).await?;
        let mut tx = state.pool.begin().await?;
        caller
            .audit(
                &mut tx,
                "clear",
                Some(&dag_id),
                serde_json::json!({"dag_run_id": body.dag_run_id, "task_instances": views.len()}),
            )
            .await?;
        tx.commit().await?;
    }
    let task_instances = by_ids(&state, &ids).await?;
    Ok(axum::Json(TaskInstanceCollectionResponse {
        total_entries: i64::try_from(task_instances.len()).unwrap_or(i64::MAX),
        task_instances,
    }))
}
