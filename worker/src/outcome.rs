//! How a try ended and what it leaves behind ([`Outcome`]), and the fenced
//! final write that records it ([`finish`]): the state, the XComs and the
//! branch skips go in one transaction, or not at all.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::BoxFuture;
use serde_json::Value as Json;
use sqlx::PgPool;
use updraft_core::store::ti_state::{self, Fence, FinishOutcome, TiRow, Transition};
use updraft_core::store::{events, hitl, xcom};

/// How a try ends, before retries are considered.
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    Success,
    Skipped,
    /// Retried while tries are left.
    Failed,
    /// Failed with no retry (`AirflowFailException`, a sensor's timeout).
    FailedNoRetry,
    /// A sensor in reschedule mode: the slot is given back until `at`, and
    /// the same try goes on then.
    Reschedule {
        at: DateTime<Utc>,
    },
    /// Waits for an event without a slot (`deferred`), with the request that
    /// event answers written in the same transaction; the same try resumes
    /// when it comes, or at `timeout_at`.
    Defer {
        timeout_at: Option<DateTime<Utc>>,
        request: Option<Box<hitl::Request>>,
    },
}

/// A try's result: its end, the XComs it pushed, and the task ids that
/// branching (BranchPython, ShortCircuit, LatestOnly…) skips in its run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub ended: Ended,
    /// `(key, value)`, `return_value` included; written only on success.
    pub xcoms: Vec<(String, Json)>,
    /// Task ids of this run set `skipped` (those not started yet).
    pub skip: Vec<String>,
    /// Run once the outcome is stored, and only then.
    pub after_store: Option<AfterStore>,
}

/// Work that must wait until the try's outcome is stored: a Kafka consumer
/// commits its offsets only after the messages it read are in the task's
/// XCom, so a crash in between redelivers them instead of losing them. The
/// future says what it did (a line for the task log) or why it failed.
#[derive(Clone)]
pub struct AfterStore(Arc<dyn Fn() -> BoxFuture<'static, Result<String, String>> + Send + Sync>);

impl AfterStore {
    pub fn new(
        f: impl Fn() -> BoxFuture<'static, Result<String, String>> + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(f))
    }

    pub async fn run(&self) -> Result<String, String> {
        (self.0)().await
    }
}

impl std::fmt::Debug for AfterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterStore")
    }
}

impl PartialEq for AfterStore {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Outcome {
    pub fn of(ended: Ended) -> Self {
        Self {
            ended,
            xcoms: Vec::new(),
            skip: Vec::new(),
            after_store: None,
        }
    }

    pub fn failed() -> Self {
        Self::of(Ended::Failed)
    }

    pub fn skipped() -> Self {
        Self::of(Ended::Skipped)
    }

    /// Success, with its `return_value` XCom when there is one.
    pub fn success(return_value: Option<Json>) -> Self {
        let mut o = Self::of(Ended::Success);
        if let Some(v) = return_value {
            o.xcoms.push((xcom::RETURN_VALUE.to_owned(), v));
        }
        o
    }
}

/// The fenced final write: the state (retry or not by `retry_delay`), with
/// the XComs and branch skips in the same transaction, rolled back when the
/// write is refused (this try no longer owns the task instance).
pub async fn finish(
    pool: &PgPool,
    ti: &TiRow,
    fence: Fence,
    outcome: &Outcome,
    retry_delay: f64,
) -> updraft_core::Result<Transition<TiRow>> {
    let mut tx = pool.begin().await?;
    if outcome.ended == Ended::Success {
        for (key, value) in &outcome.xcoms {
            let at = xcom::XComRef {
                dag_id: &ti.dag_id,
                run_id: &ti.run_id,
                task_id: &ti.task_id,
                map_index: ti.map_index,
                key,
            };
            xcom::set(&mut tx, ti.id, &at, value).await?;
        }
    }
    let result = match &outcome.ended {
        Ended::Reschedule { at } => ti_state::reschedule(&mut tx, fence, *at).await?,
        Ended::Defer {
            timeout_at,
            request,
        } => {
            if let Some(r) = request {
                hitl::request(&mut tx, r).await?;
            }
            ti_state::defer(&mut tx, fence, *timeout_at).await?
        }
        ended => {
            let state = match ended {
                Ended::Success => FinishOutcome::Success,
                Ended::Skipped => FinishOutcome::Skipped,
                Ended::FailedNoRetry => FinishOutcome::Failed,
                _ => {
                    let delay = TimeDelta::milliseconds((retry_delay.max(0.0) * 1000.0) as i64);
                    FinishOutcome::UpForRetry {
                        next_retry_at: Utc::now() + delay,
                    }
                }
            };
            ti_state::finish(&mut tx, fence, state).await?
        }
    };
    if !result.is_applied() {
        tx.rollback().await?;
        return Ok(result);
    }
    if matches!(outcome.ended, Ended::Success | Ended::Skipped) && !outcome.skip.is_empty() {
        ti_state::skip_in_run(&mut tx, &ti.dag_id, &ti.run_id, &outcome.skip, Utc::now()).await?;
    }
    events::notify(&mut tx, events::TI_FINISHED).await?;
    tx.commit().await?;
    Ok(result)
}

/// What one poke of a sensor found (native sensors and `PythonSensor` /
/// `@task.sensor` alike); the sensor driver turns pokes into an [`Outcome`].
#[derive(Debug, Clone, PartialEq)]
pub enum Poke {
    /// The condition holds; `xcom` is pushed as `return_value`
    /// (`PokeReturnValue(xcom_value=…)`).
    Done {
        xcom: Option<Json>,
    },
    NotYet,
    /// The poke itself ended the try (an exception: skip, fail, timeout).
    Ended(Outcome),
}
