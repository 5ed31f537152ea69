//! DAG runs: list (`~` for every DAG), get, trigger (`scheduler::runs::
//! trigger`, as the UI), clear (`scheduler::manual::clear`, as the UI and
//! `tasks clear`) and delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use updraft_core::auth::permissions::Action;
use updraft_core::store::run_catalog::{self, Range, RunEntry, RunOrder, RunQuery};
use updraft_core::store::{dag_runs, task_instances};
use updraft_scheduler::{manual, runs};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Body, Page, Params, PathOf, order_by};
use crate::task_instances::{self as tis, TaskInstanceCollectionResponse};
use crate::time::parse_aware;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_dag_runs, trigger_dag_run))
        .routes(routes!(get_dag_run, delete_dag_run, patch_dag_run))
        .routes(routes!(clear_dag_run))
}

/// A DAG version's id as the UUID Airflow's clients expect: our ids are
/// numbers, carried in the low 64 bits (`…-000000000007` is version row 7).
pub(crate) fn version_uuid(id: i64) -> String {
    uuid::Uuid::from_u64_pair(0, id.cast_unsigned()).to_string()
}

/// The DAG version a run ran on (`DagVersionResponse`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DagVersionResponse {
    pub id: String,
    pub version_number: i32,
    pub dag_id: String,
    pub bundle_name: String,
    pub bundle_version: Option<String>,
    pub bundle_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub dag_display_name: String,
}

/// A DAG run, as Airflow's `DAGRunResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DagRunResponse {
    pub dag_run_id: String,
    pub dag_id: String,
    pub logical_date: Option<DateTime<Utc>>,
    pub queued_at: Option<DateTime<Utc>>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    /// Seconds from start to end.
    pub duration: Option<f64>,
    pub data_interval_start: Option<DateTime<Utc>>,
    pub data_interval_end: Option<DateTime<Utc>>,
    pub run_after: DateTime<Utc>,
    pub last_scheduling_decision: Option<DateTime<Utc>>,
    pub run_type: String,
    pub state: String,
    pub triggered_by: Option<String>,
    pub triggering_user_name: Option<String>,
    pub conf: Option<Value>,
    pub note: Option<String>,
    pub dag_versions: Vec<DagVersionResponse>,
    pub bundle_version: Option<String>,
    pub dag_display_name: String,
}

/// Airflow's `DagRunTriggeredByType` for what we store (`scheduler` is
/// Airflow's `timetable`); anything else is not one of its values.
fn triggered_by(stored: Option<&str>) -> Option<String> {
    let mapped = match stored? {
        "scheduler" | "timetable" => "timetable",
        v @ ("cli" | "operator" | "rest_api" | "ui" | "test" | "asset" | "backfill") => v,
        _ => return None,
    };
    Some(mapped.to_owned())
}

impl From<RunEntry> for DagRunResponse {
    fn from(r: RunEntry) -> Self {
        let display = r.dag_display_name.unwrap_or_else(|| r.dag_id.clone());
        let dag_versions = match (r.dag_version_id, r.version_number, r.version_created_at) {
            (Some(id), Some(version_number), Some(created_at)) => vec![DagVersionResponse {
                id: version_uuid(id),
                version_number,
                dag_id: r.dag_id.clone(),
                bundle_name: "dags-folder".to_owned(),
                bundle_version: None,
                bundle_url: None,
                created_at,
                dag_display_name: display.clone(),
            }],
            _ => Vec::new(),
        };
        let duration = match (r.start_date, r.end_date) {
            (Some(s), Some(e)) => Some((e - s).num_milliseconds() as f64 / 1000.0),
            _ => None,
        };
        Self {
            dag_run_id: r.run_id,
            dag_id: r.dag_id,
            logical_date: r.logical_date,
            queued_at: r.queued_at,
            start_date: r.start_date,
            end_date: r.end_date,
            duration,
            data_interval_start: r.data_interval_start,
            data_interval_end: r.data_interval_end,
            run_after: r.run_after,
            last_scheduling_decision: r.last_scheduling_decision,
            run_type: r.run_type,
            state: r.state,
            triggered_by: triggered_by(r.triggered_by.as_deref()),
            triggering_user_name: r.triggering_user,
            conf: Some(r.conf),
            note: r.note,
            dag_versions,
            bundle_version: None,
            dag_display_name: display,
        }
    }
}

/// A page of runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct DagRunCollectionResponse {
    pub dag_runs: Vec<DagRunResponse>,
    pub total_entries: i64,
}

const RUN_STATES: [&str; 4] = ["queued", "running", "success", "failed"];
const RUN_TYPES: [&str; 4] = ["manual", "scheduled", "backfill", "asset_triggered"];

/// `key_gte`/`key_lte` from the query.
fn range(p: &Params, key: &str) -> ApiResult<Range> {
    let bound = |suffix: &str| -> ApiResult<Option<DateTime<Utc>>> {
        let name = format!("{key}_{suffix}");
        p.get(&name)
            .map(|raw| parse_aware(&["query", &name], raw))
            .transpose()
    };
    Ok(Range {
        gte: bound("gte")?,
        lte: bound("lte")?,
    })
}

/// Values of `key` that must each be one of `allowed`.
fn one_of(p: &Params, key: &str, allowed: &[&str]) -> ApiResult<Vec<String>> {
    let values = p.all(key);
    if let Some(bad) = values.iter().find(|v| !allowed.contains(&v.as_str())) {
        return Err(ApiError::invalid(
            &["query", key],
            "enum",
            format!("Input should be one of {}, got {bad:?}", allowed.join(", ")),
        ));
    }
    Ok(values)
}

/// The query of `GET .../dagRuns` from its parameters.
fn run_query(dag_id: &str, p: &Params) -> ApiResult<RunQuery> {
    let page = Page::from_params(p)?;
    let (order, descending) = order_by(p, RunOrder::Id, RunOrder::parse)?;
    Ok(RunQuery {
        dag_id: (dag_id != "~").then(|| dag_id.to_owned()),
        run_id: None,
        states: one_of(p, "state", &RUN_STATES)?,
        run_types: one_of(p, "run_type", &RUN_TYPES)?,
        logical_date: range(p, "logical_date")?,
        run_after: range(p, "run_after")?,
        start_date: range(p, "start_date")?,
        end_date: range(p, "end_date")?,
        order_by: order,
        descending,
        limit: page.limit,
        offset: page.offset,
    })
}

/// List the runs of a DAG (`~`: of every DAG).
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns", tag = "DagRun",
    params(
        ("dag_id" = String, Path, description = "`~` for every DAG"),
        ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
        ("order_by" = Option<String>, Query, description = "id, dag_id, run_id, state, logical_date, run_after, start_date, end_date; `-` for descending"),
        ("state" = Option<Vec<String>>, Query), ("run_type" = Option<Vec<String>>, Query),
        ("logical_date_gte" = Option<String>, Query), ("logical_date_lte" = Option<String>, Query),
        ("run_after_gte" = Option<String>, Query), ("run_after_lte" = Option<String>, Query),
        ("start_date_gte" = Option<String>, Query), ("start_date_lte" = Option<String>, Query),
        ("end_date_gte" = Option<String>, Query), ("end_date_lte" = Option<String>, Query),
    ),
    responses(
        (status = 200, body = DagRunCollectionResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_dag_runs(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(dag_id): PathOf<String>,
    params: Params,
) -> ApiResult<axum::Json<DagRunCollectionResponse>> {
    serve_get_dag_runs(state, caller, dag_id, params).await
}

/// `get_dag_runs` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_dag_runs(
    state: ApiState,
    caller: Caller,
    dag_id: String,
    params: Params,
) -> ApiResult<axum::Json<DagRunCollectionResponse>> {
    caller.require(Action::ReadDags)?;
    let query = run_query(&dag_id, &params)?;
    if dag_id != "~" {
        dag_exists(&state, &dag_id).await?;
    }
    let (rows, total_entries) = run_catalog::page(&state.pool, &query).await?;
    Ok(axum::Json(DagRunCollectionResponse {
        dag_runs: rows.into_iter().map(DagRunResponse::from).collect(),
        total_entries,
    }))
}

/// 404 unless the DAG exists.
pub(crate) async fn dag_exists(state: &ApiState, dag_id: &str) -> ApiResult<()> {
    let mut conn = state.pool.acquire().await?;
    match dag_runs::current_version_id(&mut conn, dag_id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!(
            "The Dag with ID: `{dag_id}` was not found"
        ))),
    }
}

async fn run_or_404(state: &ApiState, dag_id: &str, run_id: &str) -> ApiResult<RunEntry> {
    run_catalog::one(&state.pool, dag_id, run_id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found"
            ))
        })
}

/// Get a DAG run.
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}", tag = "DagRun",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path)),
    responses(
        (status = 200, body = DagRunResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn get_dag_run(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id)): PathOf<(String, String)>,
) -> ApiResult<axum::Json<DagRunResponse>> {
    serve_get_dag_run(state, caller, (dag_id, run_id)).await
}

/// `get_dag_run` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_get_dag_run(
    state: ApiState,
    caller: Caller,
    (dag_id, run_id): (String, String),
) -> ApiResult<axum::Json<DagRunResponse>> {
    caller.require(Action::ReadDags)?;
    Ok(axum::Json(
        run_or_404(&state, &dag_id, &run_id).await?.into(),
    ))
}

/// `PATCH .../dagRuns/{dag_run_id}`'s body (`DAGRunPatchBody`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DagRunPatchBody {
    /// queued, success or failed.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Set a DAG run's state (its unfinished task instances follow, as in
/// Airflow).
#[utoipa::path(patch, path = "/dags/{dag_id}/dagRuns/{dag_run_id}", tag = "DagRun",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path),
           ("update_mask" = Option<Vec<String>>, Query)),
    request_body = DagRunPatchBody,
    responses(
        (status = 200, body = DagRunResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn patch_dag_run(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id)): PathOf<(String, String)>,
    Body(body): Body<DagRunPatchBody>,
) -> ApiResult<axum::Json<DagRunResponse>> {
    caller.require(Action::EditTaskInstances)?;
    if body.note.is_some() {
        return Err(ApiError::BadRequest(
            "`note` is not supported by Updraft yet".to_owned(),
        ));
    }
    let to = match body.state.as_deref() {
        Some("queued") => dag_runs::RunStateByHand::Queued,
        Some("success") => dag_runs::RunStateByHand::Success,
        Some("failed") => dag_runs::RunStateByHand::Failed,
        None => {
            return Err(ApiError::invalid(
                &["body", "state"],
                "missing",
                "Field required",
            ));
        }
        Some(other) => {
            return Err(ApiError::invalid(
                &["body", "state"],
                "enum",
                format!("Input should be 'queued', 'success' or 'failed', got {other:?}"),
            ));
        }
    };
    if !manual::set_run_state(&state.pool, &dag_id, &run_id, to, &caller.username).await? {
        return Err(ApiError::NotFound(format!(
            "The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found"
        )));
    }
    let mut tx = state.pool.begin().await?;
    caller
        .audit(
            &mut tx,
            "dag_run_state_change",
            Some(&dag_id),
            serde_json::json!({"run_id": run_id, "state": to.as_str()}),
        )
        .await?;
    tx.commit().await?;
    Ok(axum::Json(
        run_or_404(&state, &dag_id, &run_id).await?.into(),
    ))
}

/// A key that must be present, `null` allowed (pydantic's required
/// `Optional` field): `None` is "missing".
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /dags/{dag_id}/dagRuns`'s body (`TriggerDAGRunPostBody`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerDagRunPostBody {
    /// Required key; `null`: now.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>, required = true)]
    pub logical_date: Option<Option<DateTime<Utc>>>,
    #[serde(default)]
    pub dag_run_id: Option<String>,
    #[serde(default)]
    pub data_interval_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub data_interval_end: Option<DateTime<Utc>>,
    #[serde(default)]
    pub run_after: Option<DateTime<Utc>>,
    #[serde(default)]
    pub conf: Option<Value>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Trigger a DAG run.
#[utoipa::path(post, path = "/dags/{dag_id}/dagRuns", tag = "DagRun",
    params(("dag_id" = String, Path)),
    request_body = TriggerDagRunPostBody,
    responses(
        (status = 200, body = DagRunResponse),
        (status = 400, body = HttpExceptionResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 409, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn trigger_dag_run(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(dag_id): PathOf<String>,
    Body(body): Body<TriggerDagRunPostBody>,
) -> ApiResult<axum::Json<DagRunResponse>> {
    serve_trigger_dag_run(state, caller, dag_id, body).await
}

/// `trigger_dag_run` without the extractors: shared with `/api/v1`.
pub(crate) async fn serve_trigger_dag_run(
    state: ApiState,
    caller: Caller,
    dag_id: String,
    body: TriggerDagRunPostBody,
) -> ApiResult<axum::Json<DagRunResponse>> {
    caller.require(Action::TriggerDagRuns)?;
    let Some(logical_date) = body.logical_date else {
        return Err(ApiError::invalid(
            &["body", "logical_date"],
            "missing",
            "Field required",
        ));
    };
    let conf = body.conf.unwrap_or_else(|| serde_json::json!({}));
    if !conf.is_object() {
        return Err(ApiError::invalid(
            &["body", "conf"],
            "dict_type",
            "Input should be a valid dictionary",
        ));
    }
    if body.data_interval_start.is_some() != body.data_interval_end.is_some() {
        return Err(ApiError::invalid(
            &["body"],
            "value_error",
            "Either both data_interval_start and data_interval_end must be provided or both must be None",
        ));
    }
    // Not stored by `runs::trigger` yet: refused rather than dropped.
    for (given, name) in [
        (body.data_interval_start.is_some(), "data_interval_start"),
        (body.run_after.is_some(), "run_after"),
        (body.note.is_some(), "note"),
    ] {
        if given {
            return Err(ApiError::BadRequest(format!(
                "`{name}` is not supported by Updraft yet"
            )));
        }
    }
    let request = runs::ManualTrigger {
        dag_id: dag_id.clone(),
        conf,
        logical_date,
        run_id: body.dag_run_id,
        triggered_by: "rest_api",
        audit_owner: Some(caller.username.clone()),
    };
    let run = runs::trigger(&state.pool, &state.schedule, &request, Utc::now()).await?;
    Ok(axum::Json(
        run_or_404(&state, &dag_id, &run.run_id).await?.into(),
    ))
}

/// Delete a DAG run with its task instances, logs and XComs.
#[utoipa::path(delete, path = "/dags/{dag_id}/dagRuns/{dag_run_id}", tag = "DagRun",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path)),
    responses(
        (status = 204),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
    ))]
async fn delete_dag_run(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id)): PathOf<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Action::TriggerDagRuns)?;
    let mut tx = state.pool.begin().await?;
    if !dag_runs::delete(&mut tx, &dag_id, &run_id).await? {
        return Err(ApiError::NotFound(format!(
            "The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found"
        )));
    }
    caller
        .audit(
            &mut tx,
            "delete_dag_run",
            Some(&dag_id),
            serde_json::json!({"run_id": run_id}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST .../dagRuns/{dag_run_id}/clear`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DagRunClearBody {
    #[serde(default = "yes")]
    pub dry_run: bool,
    #[serde(default)]
    pub only_failed: bool,
    #[serde(default)]
    pub run_on_latest_version: bool,
}

fn yes() -> bool {
    true
}

/// Clear a DAG run's task instances (all, or only the failed ones); a dry
/// run lists them.
#[utoipa::path(post, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/clear", tag = "DagRun",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path)),
    request_body = DagRunClearBody,
    responses(
        (status = 200, description = "The run (or, for a dry run, the task instances it would clear)",
         body = DagRunResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn clear_dag_run(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id)): PathOf<(String, String)>,
    Body(body): Body<DagRunClearBody>,
) -> ApiResult<Response> {
    caller.require(Action::EditTaskInstances)?;
    if body.run_on_latest_version {
        return Err(ApiError::BadRequest(
            "`run_on_latest_version` is not supported by Updraft yet".to_owned(),
        ));
    }
    run_or_404(&state, &dag_id, &run_id).await?;
    let mut conn = state.pool.acquire().await?;
    let views: Vec<_> = task_instances::views(&mut conn, &dag_id, Some(&run_id), None, None)
        .await?
        .into_iter()
        .filter(|v| {
            !body.only_failed || matches!(v.state.as_deref(), Some("failed" | "upstream_failed"))
        })
        .collect();
    drop(conn);
    if body.dry_run {
        let ids: Vec<_> = views.iter().map(|v| v.id).collect();
        let entries = tis::by_ids(&state, &ids).await?;
        let total_entries = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        return Ok(axum::Json(TaskInstanceCollectionResponse {
            task_instances: entries,
            total_entries,
        })
        .into_response());
    }
    let tasks = manual::dag_tasks(&state.pool, &dag_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("The Dag with ID: `{dag_id}` was not found")))?;
    manual::clear(&state.pool, &tasks, &dag_id, &views, &caller.username).await?;
    let mut tx = state.pool.begin().await?;
    caller
        .audit(
            &mut tx,
            "clear",
            Some(&dag_id),
            serde_json::json!({"run_id": run_id, "only_failed": body.only_failed,
                               "task_instances": views.len()}),
        )
        .await?;
    tx.commit().await?;
    Ok(axum::Json(DagRunResponse::from(
        run_or_404(&state, &dag_id, &run_id).await?,
    ))
    .into_response())
}
