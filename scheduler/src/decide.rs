//! Pure task-instance decisions for one run, no I/O: which task instances the
//! trigger rules (and past dependencies) let run, skip or fail ([`decide`],
//! one at a time in [`evaluate_ti`]), and how the run ends by Airflow's leaf
//! rule ([`run_outcome`]). [`crate::settle`] propagates them through a run;
//! [`crate::tasks`] writes them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use updraft_core::deps::past::{self, PastSettings, Previous};
use updraft_core::deps::{self, Decision, UpstreamCounts};
use updraft_core::model::TriggerRule;
use updraft_core::model::mapping::ExpandInput;
use updraft_core::model::serialized::{SerializedDag, SerializedTask, SerializedTasks};
use updraft_core::model::state::TaskInstanceState;
use updraft_core::store::dag_runs::RunOutcome;
use updraft_core::store::task_instances::TiStatus;
use uuid::Uuid;

/// One task of the graph.
#[derive(Debug, Clone)]
pub struct Node {
    pub upstream: Vec<String>,
    pub rule: TriggerRule,
    /// An EmptyOperator: finished by the scheduler, never sent to a worker.
    pub is_empty: bool,
    pub is_setup: bool,
    /// No downstream tasks: counts for the run's outcome.
    pub is_leaf: bool,
    pub downstream: Vec<String>,
    pub past: PastSettings,
    /// `wait_for_past_depends_before_skipping`.
    pub wait_past_before_skipping: bool,
    /// The task's own start date (with catchup, earlier runs don't count as its past).
    pub start_date: Option<DateTime<Utc>>,
    /// A mapped task: its unmapped task instance is expanded, not run.
    pub mapped: Option<ExpandInput>,
}

/// The task graph of a serialized DAG, by task id.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub nodes: HashMap<String, Node>,
    /// The DAG's `catchup` as written (`None`: the configured default).
    pub catchup: Option<bool>,
    /// `dagrun_timeout`: a run still running this long after it started fails.
    pub dagrun_timeout: Option<chrono::TimeDelta>,
}

impl Graph {
    /// Reads the tasks of a serialized DAG. An unknown trigger rule is an
    /// error: guessing one could run a task that must not run.
    pub fn from_serialized(data: &Value) -> Result<Self, String> {
        let dag = SerializedTasks::deserialize(data).map_err(|e| e.to_string())?;
        let catchup = data.get("catchup").and_then(Value::as_bool);
        let timeout = data.get("dagrun_timeout").and_then(Value::as_f64);
        Self::from_parts(&dag.tasks, catchup, timeout)
    }

    /// The graph of a typed serialized DAG; tasks of a mapped task group
    /// expand with the group.
    pub fn from_dag(dag: &SerializedDag) -> Result<Self, String> {
        let mut graph = Self::from_parts(&dag.tasks, dag.catchup, dag.dagrun_timeout)?;
        for t in &dag.tasks {
            if let (Some(node), Some(block)) = (graph.nodes.get_mut(&t.task_id), dag.mapping_of(t))
            {
                node.mapped = ExpandInput::from_block(block);
            }
        }
        Ok(graph)
    }

    fn from_parts(
        tasks: &[SerializedTask],
        catchup: Option<bool>,
        dagrun_timeout: Option<f64>,
    ) -> Result<Self, String> {
        let mut nodes = HashMap::with_capacity(tasks.len());
        for t in tasks {
            let name = t.trigger_rule.as_str();
            let rule = TriggerRule::parse(name)
                .ok_or_else(|| format!("task {:?}: unknown trigger rule {name:?}", t.task_id))?;
            let start_date = t
                .start_date
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.with_timezone(&Utc));
            let node = Node {
                upstream: t.upstream_task_ids.clone(),
                rule,
                is_empty: t.operator_kind == "empty",
                is_setup: t.is_setup,
                is_leaf: t.downstream_task_ids.is_empty(),
                downstream: t.downstream_task_ids.clone(),
                past: PastSettings {
                    depends_on_past: t.depends_on_past,
                    ignore_first_depends_on_past: t.ignore_first_depends_on_past,
                    wait_for_downstream: t.wait_for_downstream,
                },
                wait_past_before_skipping: t.wait_for_past_depends_before_skipping,
                start_date,
                mapped: t.mapped.as_ref().and_then(ExpandInput::from_block),
            };
            nodes.insert(t.task_id.clone(), node);
        }
        let dagrun_timeout = dagrun_timeout
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| chrono::TimeDelta::milliseconds((s * 1000.0) as i64));
        Ok(Self {
            nodes,
            catchup,
            dagrun_timeout,
        })
    }

    /// Some task depends on the past: the previous run must be read.
    pub fn depends_on_past(&self) -> bool {
        self.nodes.values().any(|n| n.past.applies())
    }
}

/// The previous run as `depends_on_past` sees it (empty unless
/// [`Graph::depends_on_past`]).
#[derive(Debug, Clone, Default)]
pub struct PastView {
    /// The previous run's logical date and task instances; `None`: this is
    /// the first run.
    pub previous: Option<(DateTime<Utc>, Vec<TiStatus>)>,
    /// With catchup (the previous run is the previous *scheduled* one).
    pub catchup: bool,
    /// Tasks with a task instance in some earlier run.
    pub with_history: HashSet<String>,
}

impl PastView {
    /// What the previous run says about task instance `ti` of `node`.
    fn previous_for(&self, node: &Node, ti: &TiStatus) -> Previous {
        let Some((logical_date, tis)) = &self.previous else {
            return Previous::NoRun;
        };
        if self.catchup && node.start_date.is_some_and(|start| *logical_date < start) {
            return Previous::BeforeTaskStart;
        }
        let Some(prev) = tis
            .iter()
            .find(|p| p.task_id == ti.task_id && p.map_index == ti.map_index)
        else {
            return Previous::NoTaskInstance {
                has_historical_ti: self.with_history.contains(&ti.task_id),
            };
        };
        // Every direct downstream task must have task instances, all done.
        let downstream = node
            .downstream
            .iter()
            .flat_map(|d| {
                let states: Vec<_> = tis
                    .iter()
                    .filter(|p| &p.task_id == d)
                    .map(|p| p.state)
                    .collect();
                if states.is_empty() {
                    vec![None]
                } else {
                    states
                }
            })
            .collect();
        Previous::TaskInstance {
            state: prev.state,
            downstream,
        }
    }
}

/// What to do with one task instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiDecision {
    pub id: Uuid,
    pub task_id: String,
    pub map_index: i32,
    pub decision: Decision,
    pub reason: String,
}

/// Decisions for the task instances that can move now: those without a
/// state, by their trigger rule over the states of their upstream task
/// instances; and `up_for_retry`/`up_for_reschedule`/`deferred` ones whose
/// wait is over, which run again. Task instances of tasks the graph no longer has
/// are left alone. `Wait` decisions are left out. A task that depends on
/// the past runs only when [`past::evaluate`] passes over `past` (and with
/// `wait_for_past_depends_before_skipping`, is not skipped before either).
pub fn decide(
    graph: &Graph,
    tis: &[TiStatus],
    past: &PastView,
    now: DateTime<Utc>,
) -> Vec<TiDecision> {
    let mut by_task: HashMap<&str, Vec<&TiStatus>> = HashMap::new();
    for ti in tis {
        by_task.entry(ti.task_id.as_str()).or_default().push(ti);
    }
    let mut out = Vec::new();
    for ti in tis {
        let Some(node) = graph.nodes.get(&ti.task_id) else {
            continue;
        };
        let upstreams = node.upstream.iter().flat_map(|up| {
            let is_setup = graph.nodes.get(up).is_some_and(|n| n.is_setup);
            by_task
                .get(up.as_str())
                .into_iter()
                .flatten()
                .map(move |u| (up.as_str(), u.state, is_setup))
        });
        if let Some(d) = evaluate_ti(node, ti, upstreams, past, now) {
            out.push(d);
        }
    }
    out
}

/// The decision for one task instance given its upstream task instances'
/// states (`None`: it stays as it is for now).
pub(crate) fn evaluate_ti<'a>(
    node: &Node,
    ti: &TiStatus,
    upstreams: impl Iterator<Item = (&'a str, Option<TaskInstanceState>, bool)>,
    past: &PastView,
    now: DateTime<Utc>,
) -> Option<TiDecision> {
    let evaluation = match ti.state {
        None => deps::evaluate(node.rule, &UpstreamCounts::from_named(upstreams)),
        Some(TaskInstanceState::UpForRetry | TaskInstanceState::UpForReschedule)
            if ti.next_retry_at.is_none_or(|at| at <= now) =>
        {
            deps::Evaluation {
                decision: Decision::Run,
                reason: "Ready: the retry delay is over".to_owned(),
            }
        }
        // A deferral whose event came (an answer) or whose timeout passed.
        Some(TaskInstanceState::Deferred) if ti.next_retry_at.is_some_and(|at| at <= now) => {
            deps::Evaluation {
                decision: Decision::Run,
                reason: "Ready: the deferral is over".to_owned(),
            }
        }
        _ => return None,
    };
    let evaluation = if node.past.applies() && evaluation.decision != Decision::Wait {
        let status = past::evaluate(node.past, &past.previous_for(node, ti));
        let held = match evaluation.decision {
            Decision::Run => !status.passed,
            _ => node.wait_past_before_skipping && !status.passed,
        };
        if held {
            deps::Evaluation {
                decision: Decision::Wait,
                reason: format!("Waiting: {}", status.reason),
            }
        } else {
            evaluation
        }
    } else {
        evaluation
    };
    (evaluation.decision != Decision::Wait).then(|| TiDecision {
        id: ti.id,
        task_id: ti.task_id.clone(),
        map_index: ti.map_index,
        decision: evaluation.decision,
        reason: evaluation.reason,
    })
}

/// Airflow's leaf rule: once every task instance is finished, the run failed
/// if a leaf task instance failed or is upstream_failed, else it succeeded.
/// `None` while any task instance is unfinished (or the run has none yet).
pub fn run_outcome(graph: &Graph, tis: &[TiStatus]) -> Option<RunOutcome> {
    if tis.is_empty()
        || !tis
            .iter()
            .all(|ti| ti.state.is_some_and(|s| s.is_finished()))
    {
        return None;
    }
    let leaf_failed = tis.iter().any(|ti| {
        graph.nodes.get(&ti.task_id).is_some_and(|n| n.is_leaf)
            && matches!(
                ti.state,
                Some(TaskInstanceState::Failed | TaskInstanceState::UpstreamFailed)
            )
    });
    Some(if leaf_failed {
        RunOutcome::Failed
    } else {
        RunOutcome::Success
    })
}

#[cfg(test)]
mod tests;
