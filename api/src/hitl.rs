//! Human-in-the-loop (Airflow 3.1): the requests of a run (`~` for any DAG
//! or run), one task instance's request, and answering it. The answer goes
//! through `core::store::hitl::respond` (answer, audit row, wake-up) under
//! the same who-may-answer rule (`permissions::may_answer`) as the UI's
//! Required actions page.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use updraft_core::auth::permissions::{Action, may_answer};
use updraft_core::store::hitl::{self, Answer, Answered, Detail};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, HttpExceptionResponse, HttpValidationError};
use crate::extract::{Body, Page, Params, PathOf};
use crate::task_instances::{self as tis, TaskInstanceResponse};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_hitl_details))
        .routes(routes!(get_hitl_detail, update_hitl_detail))
}

/// Who answered (`HITLUser`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HitlUser {
    pub id: String,
    pub name: String,
}

impl HitlUser {
    /// From the stored `{"id", "name"}` (ids may be numbers).
    fn from_json(v: &Value) -> Option<Self> {
        let id = match v.get("id")? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        Some(Self { id, name })
    }

    fn list(v: &Value) -> Vec<Self> {
        v.as_array()
            .map(|a| a.iter().filter_map(Self::from_json).collect())
            .unwrap_or_default()
    }
}

/// A request with its task instance (`HITLDetail`).
#[derive(Debug, Serialize, ToSchema)]
pub struct HitlDetail {
    pub task_instance: TaskInstanceResponse,
    pub options: Vec<String>,
    pub subject: String,
    pub body: Option<String>,
    pub defaults: Option<Vec<String>>,
    pub multiple: bool,
    pub params: Value,
    pub assigned_users: Vec<HitlUser>,
    pub created_at: DateTime<Utc>,
    pub responded_by_user: Option<HitlUser>,
    pub responded_at: Option<DateTime<Utc>>,
    pub chosen_options: Option<Vec<String>>,
    pub params_input: Value,
    pub response_received: bool,
}

fn detail(d: Detail, task_instance: TaskInstanceResponse) -> HitlDetail {
    HitlDetail {
        task_instance,
        response_received: d.responded_at.is_some(),
        options: d.options,
        subject: d.subject,
        body: d.body,
        defaults: d.defaults,
        multiple: d.multiple,
        params: d.params,
        assigned_users: HitlUser::list(&d.assigned_users),
        created_at: d.created_at,
        responded_by_user: d.responded_by.as_ref().and_then(HitlUser::from_json),
        responded_at: d.responded_at,
        chosen_options: d.chosen_options,
        params_input: d.params_input.unwrap_or_else(|| json!({})),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HitlDetailCollection {
    pub hitl_details: Vec<HitlDetail>,
    pub total_entries: i64,
}

/// An answer recorded (`HITLDetailResponse`).
#[derive(Debug, Serialize, ToSchema)]
pub struct HitlDetailResponse {
    pub responded_by: HitlUser,
    pub responded_at: DateTime<Utc>,
    pub chosen_options: Vec<String>,
    pub params_input: Value,
}

/// `UpdateHITLDetailPayload`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateHitlDetailPayload {
    pub chosen_options: Vec<String>,
    #[serde(default)]
    pub params_input: Option<Value>,
}

/// The requests of a run with their task instances, paged.
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/hitlDetails", tag = "Task Instance",
    params(("dag_id" = String, Path, description = "`~` for every DAG"),
           ("dag_run_id" = String, Path, description = "`~` for every run"),
           ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
           ("response_received" = Option<bool>, Query)),
    responses(
        (status = 200, body = HitlDetailCollection),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_hitl_details(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf((dag_id, run_id)): PathOf<(String, String)>,
    params: Params,
) -> ApiResult<axum::Json<HitlDetailCollection>> {
    caller.require(Action::ReadDags)?;
    let page = Page::from_params(&params)?;
    let received = params.bool("response_received")?;
    // As Airflow: an unknown DAG or run is an empty list, not a 404.
    let wild = |s: &str| (s != "~").then(|| s.to_owned());
    let mut rows = hitl::list_for_run(
        &state.pool,
        wild(&dag_id).as_deref(),
        wild(&run_id).as_deref(),
    )
    .await?;
    if let Some(want) = received {
        rows.retain(|d| d.responded_at.is_some() == want);
    }
    let total_entries = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let take = usize::try_from(page.limit).unwrap_or(0);
    let rows: Vec<Detail> = rows.into_iter().skip(skip).take(take).collect();
    let ids: Vec<_> = rows.iter().map(|d| d.ti_id).collect();
    let mut instances = tis::by_ids(&state, &ids).await?;
    let mut hitl_details = Vec::with_capacity(rows.len());
    for d in rows {
        let Some(at) = instances.iter().position(|t| t.id == d.ti_id.to_string()) else {
            continue;
        };
        hitl_details.push(detail(d, instances.swap_remove(at)));
    }
    Ok(axum::Json(HitlDetailCollection {
        hitl_details,
        total_entries,
    }))
}

/// The request of one task instance, or Airflow's 404.
async fn request_of(
    state: &ApiState,
    path: &(String, String, String, i32),
) -> ApiResult<(Detail, TaskInstanceResponse)> {
    let (dag_id, run_id, task_id, map_index) = path;
    let ti = tis::one(state, dag_id, run_id, task_id, *map_index).await?;
    let mut conn = state.pool.acquire().await?;
    let d = hitl::get(&mut conn, ti.id).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "Human-in-the-loop detail does not exist for Task Instance with id {}",
            ti.id
        ))
    })?;
    Ok((d, ti.into()))
}

/// One task instance's request.
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}/hitlDetails",
    tag = "Task Instance",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path),
           ("task_id" = String, Path), ("map_index" = i32, Path)),
    responses(
        (status = 200, body = HitlDetail),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn get_hitl_detail(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(path): PathOf<(String, String, String, i32)>,
) -> ApiResult<axum::Json<HitlDetail>> {
    caller.require(Action::ReadDags)?;
    let (d, ti) = request_of(&state, &path).await?;
    Ok(axum::Json(detail(d, ti)))
}

/// Answer a task instance's request (once: answers are final).
#[utoipa::path(patch, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}/hitlDetails",
    tag = "Task Instance",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path),
           ("task_id" = String, Path), ("map_index" = i32, Path)),
    request_body = UpdateHitlDetailPayload,
    responses(
        (status = 200, body = HitlDetailResponse),
        (status = 401, body = HttpExceptionResponse),
        (status = 403, body = HttpExceptionResponse),
        (status = 404, body = HttpExceptionResponse),
        (status = 409, body = HttpExceptionResponse),
        (status = 422, body = HttpValidationError),
    ))]
async fn update_hitl_detail(
    State(state): State<ApiState>,
    caller: Caller,
    PathOf(path): PathOf<(String, String, String, i32)>,
    Body(body): Body<UpdateHitlDetailPayload>,
) -> ApiResult<axum::Json<HitlDetailResponse>> {
    caller.require(Action::ReadDags)?;
    let params_input = body.params_input.unwrap_or_else(|| json!({}));
    if !params_input.is_object() {
        return Err(ApiError::invalid(
            &["body", "params_input"],
            "dict_type",
            "Input should be a valid dictionary",
        ));
    }
    if body.chosen_options.is_empty() {
        return Err(ApiError::invalid(
            &["body", "chosen_options"],
            "too_short",
            "List should have at least 1 item after validation, not 0",
        ));
    }
    let (d, _) = request_of(&state, &path).await?;
    let user_id = caller.user_id.to_string();
    if !may_answer(&caller.roles, d.is_assigned(&user_id, &caller.username)) {
        return Err(ApiError::Forbidden(format!(
            "User={} (id={user_id}) is not a respondent for the task.",
            caller.username
        )));
    }
    let answer = Answer {
        chosen_options: body.chosen_options,
        params_input,
        responded_by: json!({"id": user_id, "name": caller.username}),
    };
    let mut tx = state.pool.begin().await?;
    // Answer, audit row and wake-up: the same function as the UI's.
    match hitl::respond(&mut tx, &d, &answer, &caller.username, "rest_api").await? {
        Answered::Applied => {}
        Answered::NotFound => {
            return Err(ApiError::NotFound(
                "Human-in-the-loop detail not found".to_owned(),
            ));
        }
        Answered::AlreadyAnswered => {
            return Err(ApiError::Conflict(format!(
                "Human-in-the-loop detail has already been updated for Task Instance with id {} \
                 and is not allowed to write again.",
                d.ti_id
            )));
        }
        Answered::NotWaiting => {
            return Err(ApiError::Conflict(
                "The task instance is not waiting for an answer.".to_owned(),
            ));
        }
        Answered::Invalid(why) => {
            return Err(ApiError::invalid(
                &["body", "chosen_options"],
                "value_error",
                why,
            ));
        }
    }
    let after = hitl::get(&mut tx, d.ti_id).await?;
    tx.commit().await?;
    let responded_at = after.and_then(|a| a.responded_at).unwrap_or_else(Utc::now);
    Ok(axum::Json(HitlDetailResponse {
        responded_by: HitlUser {
            id: user_id,
            name: caller.username,
        },
        responded_at,
        chosen_options: answer.chosen_options,
        params_input: answer.params_input,
    }))
}
