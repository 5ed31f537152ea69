//! A run's task instances settled in memory, no I/O: trigger-rule decisions
//! applied and propagated until nothing more moves, with EmptyOperator tasks
//! finishing on the spot, so a whole layer of empties (or a chain of them)
//! costs one pass and one write per kind of change. A work list re-examines
//! only the downstream of what changed: O(task instances + edges).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use updraft_core::deps::Decision;
use updraft_core::model::state::TaskInstanceState;
use updraft_core::store::task_instances::TiStatus;
use uuid::Uuid;

use crate::decide::{Graph, PastView, TiDecision, evaluate_ti};

/// What settling decided, by the write each needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// → `scheduled` (for a worker).
    pub scheduled: Vec<Uuid>,
    /// EmptyOperator task instances → `success` in the scheduler.
    pub empty_success: Vec<Uuid>,
    pub skipped: Vec<Uuid>,
    pub upstream_failed: Vec<Uuid>,
    /// Unmapped task instances of mapped tasks that may expand now.
    pub to_expand: Vec<TiDecision>,
}

impl Settled {
    pub fn is_empty(&self) -> bool {
        self.scheduled.is_empty()
            && self.empty_success.is_empty()
            && self.skipped.is_empty()
            && self.upstream_failed.is_empty()
            && self.to_expand.is_empty()
    }
}

/// Decides every task instance of `tis` that can move, updating their
/// states in place as the writes will, and propagating to downstream task
/// instances until nothing more changes.
pub fn settle(graph: &Graph, tis: &mut [TiStatus], past: &PastView, now: DateTime<Utc>) -> Settled {
    let mut by_task: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, ti) in tis.iter().enumerate() {
        by_task.entry(ti.task_id.clone()).or_default().push(i);
    }
    let mut queued = vec![true; tis.len()];
    let mut work: VecDeque<usize> = (0..tis.len()).collect();
    let mut out = Settled::default();
    while let Some(i) = work.pop_front() {
        queued[i] = false;
        let Some(node) = graph.nodes.get(&tis[i].task_id) else {
            continue;
        };
        let decision = {
            let tis_ref = &*tis;
            let upstreams = node.upstream.iter().flat_map(|up| {
                let is_setup = graph.nodes.get(up).is_some_and(|n| n.is_setup);
                by_task
                    .get(up)
                    .into_iter()
                    .flatten()
                    .map(move |&j| (up.as_str(), tis_ref[j].state, is_setup))
            });
            evaluate_ti(node, &tis_ref[i], upstreams, past, now)
        };
        let Some(d) = decision else {
            continue;
        };
        let new_state = match d.decision {
            Decision::Run if node.mapped.is_some() && d.map_index == -1 => {
                // Expanded by the caller; until then it stays unset.
                out.to_expand.push(d);
                continue;
            }
            Decision::Run if node.is_empty => {
                out.empty_success.push(d.id);
                TaskInstanceState::Success
            }
            Decision::Run => {
                out.scheduled.push(d.id);
                tis[i].state = Some(TaskInstanceState::Scheduled);
                continue;
            }
            Decision::Skip => {
                out.skipped.push(d.id);
                TaskInstanceState::Skipped
            }
            Decision::UpstreamFailed => {
                out.upstream_failed.push(d.id);
                TaskInstanceState::UpstreamFailed
            }
            Decision::Wait => continue,
        };
        tis[i].state = Some(new_state);
        for down in &node.downstream {
            for &j in by_task.get(down).into_iter().flatten() {
                if tis[j].state.is_none() && !queued[j] {
                    queued[j] = true;
                    work.push_back(j);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status(i: usize, task_id: &str, state: Option<TaskInstanceState>) -> TiStatus {
        TiStatus {
            id: Uuid::from_u128(i as u128 + 1),
            task_id: task_id.to_owned(),
            map_index: -1,
            state,
            next_retry_at: None,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    // Invariant: a chain of empties settles in one call, stopping at the
    // first worker task, which is scheduled.
    #[test]
    fn empties_cascade_until_a_worker_task() {
        let t = |id: &str, up: &[&str], down: &[&str], kind: &str| {
            json!({"task_id": id, "task_type": "X", "operator_kind": kind,
                   "upstream_task_ids": up, "downstream_task_ids": down})
        };
        let graph = Graph::from_serialized(&json!({"tasks": [
            t("a", &[], &["b"], "empty"),
            t("b", &["a"], &["c"], "empty"),
            t("c", &["b"], &["d"], "bash"),
            t("d", &["c"], &[], "empty"),
        ]}))
        .expect("graph");
        let mut tis: Vec<_> = ["d", "c", "b", "a"]
            .iter()
            .enumerate()
            .map(|(i, id)| status(i, id, None))
            .collect();
        let out = settle(&graph, &mut tis, &PastView::default(), now());
        let id = |task: &str| tis.iter().find(|t| t.task_id == task).map(|t| t.id);
        assert_eq!(
            out.empty_success,
            vec![id("a"), id("b")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
        );
        assert_eq!(out.scheduled, id("c").into_iter().collect::<Vec<_>>());
        assert!(out.skipped.is_empty() && out.upstream_failed.is_empty());
        let state = |task: &str| tis.iter().find(|t| t.task_id == task).and_then(|t| t.state);
        assert_eq!(state("d"), None, "waits for c");
        // Settling again changes nothing.
        assert!(settle(&graph, &mut tis, &PastView::default(), now()).is_empty());
    }

    // Invariant: a failure propagates upstream_failed through the whole
    // downstream in one call, and skips stop at an all_done join.
    #[test]
    fn failure_and_skip_propagate() {
        let t = |id: &str, up: &[&str], down: &[&str], rule: &str| {
            json!({"task_id": id, "task_type": "X", "operator_kind": "bash", "trigger_rule": rule,
                   "upstream_task_ids": up, "downstream_task_ids": down})
        };
        let graph = Graph::from_serialized(&json!({"tasks": [
            t("a", &[], &["b"], "all_success"),
            t("b", &["a"], &["c"], "all_success"),
            t("c", &["b"], &["j"], "all_success"),
            t("j", &["c"], &[], "all_done"),
        ]}))
        .expect("graph");
        let mut tis = vec![
            status(0, "a", Some(TaskInstanceState::Failed)),
            status(1, "b", None),
            status(2, "c", None),
            status(3, "j", None),
        ];
        let out = settle(&graph, &mut tis, &PastView::default(), now());
        assert_eq!(out.upstream_failed, vec![tis[1].id, tis[2].id]);
        assert_eq!(
            out.scheduled,
            vec![tis[3].id],
            "all_done runs after upstream_failed"
        );
    }
}
