//! `GET/POST /dags/{dag_id}/dagRuns`, `GET .../dagRuns/{dag_run_id}` in
//! Airflow 2's `DAGRun` shape, answered by the functions behind the v2 handlers.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::BasicCaller;
use super::error::{Json, PathOf, Query, V1Error, V1Result};
use crate::ApiState;
use crate::dag_runs::{self as v2, DagRunResponse, TriggerDagRunPostBody};
use crate::extract::Params;

/// Airflow 2.10's `DAGRun`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DagRun {
    pub dag_run_id: String,
    pub dag_id: String,
    pub logical_date: Option<DateTime<Utc>>,
    pub execution_date: Option<DateTime<Utc>>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub data_interval_start: Option<DateTime<Utc>>,
    pub data_interval_end: Option<DateTime<Utc>>,
    pub last_scheduling_decision: Option<DateTime<Utc>>,
    pub run_type: String,
    pub state: String,
    pub external_trigger: bool,
    pub conf: Value,
    pub note: Option<String>,
}

/// Airflow 2 says `dataset_triggered` where 3 says `asset_triggered`.
pub(super) fn run_type_v1(run_type: &str) -> &str {
    match run_type {
        "asset_triggered" => "dataset_triggered",
        other => other,
    }
}

impl From<DagRunResponse> for DagRun {
    fn from(r: DagRunResponse) -> Self {
        Self {
            external_trigger: r.run_type == "manual",
            run_type: run_type_v1(&r.run_type).to_owned(),
            dag_run_id: r.dag_run_id,
            dag_id: r.dag_id,
            logical_date: r.logical_date,
            execution_date: r.logical_date,
            start_date: r.start_date,
            end_date: r.end_date,
            data_interval_start: r.data_interval_start,
            data_interval_end: r.data_interval_end,
            last_scheduling_decision: r.last_scheduling_decision,
            state: r.state,
            conf: r.conf.unwrap_or_else(|| serde_json::json!({})),
            note: r.note,
        }
    }
}

/// `DAGRunCollection`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DagRunCollection {
    pub dag_runs: Vec<DagRun>,
    pub total_entries: i64,
}

/// Airflow 2's names (`execution_date…`, `dataset_triggered`) as v2's.
fn v2_params(params: Params) -> Params {
    params.map(|k, v| {
        let k = match k.strip_prefix("execution_date") {
            Some(rest) => format!("logical_date{rest}"),
            None => k,
        };
        let v = match (k.as_str(), v.as_str()) {
            ("order_by", "execution_date") => "logical_date".to_owned(),
            ("order_by", "-execution_date") => "-logical_date".to_owned(),
            ("run_type", "dataset_triggered") => "asset_triggered".to_owned(),
            _ => v,
        };
        (k, v)
    })
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns", tag = "DAGRun",
    params(("dag_id" = String, Path)),
    responses(
        (status = 200, body = DagRunCollection),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_dag_runs(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(dag_id): PathOf<String>,
    Query(params): Query,
) -> V1Result<axum::Json<DagRunCollection>> {
    let page = v2::serve_get_dag_runs(state, caller, dag_id, v2_params(params))
        .await?
        .0;
    Ok(axum::Json(DagRunCollection {
        dag_runs: page.dag_runs.into_iter().map(DagRun::from).collect(),
        total_entries: page.total_entries,
    }))
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}", tag = "DAGRun",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path)),
    responses(
        (status = 200, body = DagRun),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn get_dag_run(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(ids): PathOf<(String, String)>,
) -> V1Result<axum::Json<DagRun>> {
    let run = v2::serve_get_dag_run(state, caller, ids).await?.0;
    Ok(axum::Json(run.into()))
}

/// The writable fields of Airflow 2's `DAGRun` (the client sends no others).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TriggerBody {
    #[serde(default)]
    pub dag_run_id: Option<String>,
    #[serde(default)]
    pub logical_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub execution_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub data_interval_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub data_interval_end: Option<DateTime<Utc>>,
    #[serde(default)]
    pub conf: Option<Value>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Trigger a run: `logical_date` or `execution_date` (not two different
/// ones, as Airflow 2); neither: now (a 2.x run always has one).
#[utoipa::path(post, path = "/dags/{dag_id}/dagRuns", tag = "DAGRun",
    params(("dag_id" = String, Path)),
    responses(
        (status = 200, body = DagRun),
        (status = "4XX", body = super::error::ProblemBody),
    ))]
pub(super) async fn trigger_dag_run(
    State(state): State<ApiState>,
    BasicCaller(caller): BasicCaller,
    PathOf(dag_id): PathOf<String>,
    Json(body): Json<TriggerBody>,
) -> V1Result<axum::Json<DagRun>> {
    let logical_date = match (body.logical_date, body.execution_date) {
        (Some(l), Some(e)) if l != e => {
            return Err(V1Error::bad_request(
                "logical_date conflicts with execution_date",
            ));
        }
        (l, e) => l.or(e).unwrap_or_else(Utc::now),
    };
    let v2_body = TriggerDagRunPostBody {
        logical_date: Some(Some(logical_date)),
        dag_run_id: body.dag_run_id,
        data_interval_start: body.data_interval_start,
        data_interval_end: body.data_interval_end,
        run_after: None,
        conf: body.conf,
        note: body.note,
    };
    let run = v2::serve_trigger_dag_run(state, caller, dag_id, v2_body)
        .await?
        .0;
    Ok(axum::Json(run.into()))
}
