//! Which task instances branching skips, as pure functions of the DAG's
//! graph: Airflow's `SkipMixin.skip_all_except` (BranchPythonOperator,
//! `@task.branch`, LatestOnly, the datetime/weekday branches) and
//! ShortCircuitOperator's two modes. The worker writes the result with the
//! branching task's final state.

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::Value;

/// The parts of a serialized DAG that branching reads.
#[derive(Debug, Clone, Default)]
pub struct BranchGraph {
    downstream: HashMap<String, Vec<String>>,
    upstream: HashMap<String, Vec<String>>,
    /// Task group id → the task ids in it (nested groups included).
    groups: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct RawTask {
    task_id: String,
    #[serde(default)]
    upstream_task_ids: Vec<String>,
    #[serde(default)]
    downstream_task_ids: Vec<String>,
}

#[derive(Deserialize)]
struct RawGroup {
    group_id: String,
    #[serde(default)]
    children: Vec<String>,
}

#[derive(Deserialize)]
struct RawDag {
    tasks: Vec<RawTask>,
    #[serde(default)]
    task_groups: Vec<RawGroup>,
}

impl BranchGraph {
    /// Reads a serialized DAG (docs/serialized-dag.md).
    pub fn from_serialized(dag: &Value) -> Result<Self, String> {
        let raw = RawDag::deserialize(dag).map_err(|e| format!("reading the DAG's tasks: {e}"))?;
        let mut g = Self::default();
        for t in raw.tasks {
            g.upstream.insert(t.task_id.clone(), t.upstream_task_ids);
            g.downstream.insert(t.task_id, t.downstream_task_ids);
        }
        let children: HashMap<String, Vec<String>> = raw
            .task_groups
            .into_iter()
            .map(|grp| (grp.group_id, grp.children))
            .collect();
        for id in children.keys() {
            let mut tasks = Vec::new();
            let mut stack = vec![id.clone()];
            while let Some(next) = stack.pop() {
                for child in children.get(&next).into_iter().flatten() {
                    if children.contains_key(child) {
                        stack.push(child.clone());
                    } else {
                        tasks.push(child.clone());
                    }
                }
            }
            g.groups.insert(id.clone(), tasks);
        }
        Ok(g)
    }

    /// Every task downstream of `task_id`, transitively (not itself).
    pub fn all_downstream(&self, task_id: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = vec![task_id];
        while let Some(t) = stack.pop() {
            for d in self.downstream.get(t).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    stack.push(d);
                }
            }
        }
        seen
    }

    /// A followed id that names a task group stands for the group's roots
    /// (its tasks with no upstream inside the group), as in Airflow.
    fn expand_followed(&self, followed: &[String]) -> Result<BTreeSet<String>, String> {
        let mut out = BTreeSet::new();
        for id in followed {
            if self.downstream.contains_key(id) {
                out.insert(id.clone());
            } else if let Some(members) = self.groups.get(id) {
                for m in members {
                    let ups = self.upstream.get(m).into_iter().flatten();
                    if !ups.clone().any(|u| members.contains(u)) {
                        out.insert(m.clone());
                    }
                }
            } else {
                return Err(format!(
                    "'branch_task_ids' must contain only valid task_ids. Invalid tasks found: {{'{id}'}}."
                ));
            }
        }
        Ok(out)
    }

    /// `skip_all_except(followed)` for `branch_task`: its direct downstream
    /// tasks that are neither followed nor downstream of a followed task.
    /// An id that is not a task or group is Airflow's error.
    pub fn branch_skips(
        &self,
        branch_task: &str,
        followed: &[String],
    ) -> Result<Vec<String>, String> {
        let followed = self.expand_followed(followed)?;
        let mut keep = followed.clone();
        for f in &followed {
            keep.extend(self.all_downstream(f));
        }
        Ok(self
            .downstream
            .get(branch_task)
            .into_iter()
            .flatten()
            .filter(|d| !keep.contains(*d))
            .cloned()
            .collect())
    }

    /// ShortCircuit on a falsy condition: with
    /// `ignore_downstream_trigger_rules` every task downstream, else only the
    /// direct downstream tasks (trigger rules decide the rest).
    pub fn short_circuit_skips(
        &self,
        task_id: &str,
        ignore_downstream_trigger_rules: bool,
    ) -> Vec<String> {
        if ignore_downstream_trigger_rules {
            self.all_downstream(task_id).into_iter().collect()
        } else {
            self.downstream.get(task_id).cloned().unwrap_or_default()
        }
    }
}

/// A branch callable's return value → the followed task ids: a string, a
/// list of strings, or `None` (follow nothing).
pub fn followed_ids(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("a branch must return task ids, got {other}")),
            })
            .collect(),
        Value::Object(m) if matches!(m.get("__type"), Some(Value::String(t)) if t == "set" || t == "tuple") => {
            followed_ids(m.get("__var").unwrap_or(&Value::Null))
        }
        other => Err(format!(
            "a branch must return a task id, a list of task ids or None, got {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// branch → a → join, branch → b → join, branch → join; group g = {g.x → g.y}.
    fn graph() -> BranchGraph {
        BranchGraph::from_serialized(&json!({
            "tasks": [
                {"task_id": "branch", "upstream_task_ids": [], "downstream_task_ids": ["a", "b", "g.x", "join"]},
                {"task_id": "a", "upstream_task_ids": ["branch"], "downstream_task_ids": ["join"]},
                {"task_id": "b", "upstream_task_ids": ["branch"], "downstream_task_ids": ["join"]},
                {"task_id": "g.x", "upstream_task_ids": ["branch"], "downstream_task_ids": ["g.y"]},
                {"task_id": "g.y", "upstream_task_ids": ["g.x"], "downstream_task_ids": []},
                {"task_id": "join", "upstream_task_ids": ["a", "b", "branch"], "downstream_task_ids": []}
            ],
            "task_groups": [{"group_id": "g", "children": ["g.x", "g.y"]}]
        }))
        .expect("graph")
    }

    // A join reachable from the followed branch is not skipped (Airflow's empty-branch rule).
    #[test]
    fn skips_unfollowed_direct_downstream_but_not_joins() {
        let g = graph();
        assert_eq!(
            g.branch_skips("branch", &["a".into()]),
            Ok(vec!["b".into(), "g.x".into()])
        );
        assert_eq!(
            g.branch_skips("branch", &["join".into()]),
            Ok(vec!["a".into(), "b".into(), "g.x".into()])
        );
        assert_eq!(
            g.branch_skips("branch", &[]),
            Ok(vec!["a".into(), "b".into(), "g.x".into(), "join".into()])
        );
    }

    #[test]
    fn a_group_id_follows_its_roots() {
        let g = graph();
        assert_eq!(
            g.branch_skips("branch", &["g".into()]),
            Ok(vec!["a".into(), "b".into(), "join".into()])
        );
    }

    #[test]
    fn unknown_ids_are_airflows_error() {
        let err = graph()
            .branch_skips("branch", &["nope".into()])
            .expect_err("invalid");
        assert!(err.contains("Invalid tasks found"), "{err}");
    }

    #[test]
    fn short_circuit_modes() {
        let g = graph();
        assert_eq!(g.short_circuit_skips("g.x", false), vec!["g.y".to_owned()]);
        assert_eq!(g.short_circuit_skips("a", true), vec!["join".to_owned()]);
        assert_eq!(
            g.short_circuit_skips("branch", true),
            ["a", "b", "g.x", "g.y", "join"].map(str::to_owned).to_vec()
        );
        assert_eq!(
            g.short_circuit_skips("branch", false),
            ["a", "b", "g.x", "join"].map(str::to_owned).to_vec()
        );
    }

    #[test]
    fn followed_shapes() {
        assert_eq!(followed_ids(&json!("a")), Ok(vec!["a".to_owned()]));
        assert_eq!(
            followed_ids(&json!(["a", "b"])),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(followed_ids(&json!(null)), Ok(vec![]));
        assert_eq!(
            followed_ids(&json!({"__type": "tuple", "__var": ["x"]})),
            Ok(vec!["x".to_owned()])
        );
        assert!(followed_ids(&json!(3)).is_err());
    }
}
