//! The grid's shape, without I/O: the DAG's tasks in their order with task
//! groups as nested row groups (from the serialized DAG), and the state a
//! cell shows when it stands for several task instances (a mapped task or a
//! task group), by Airflow's `State.state_priority`.

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::Value;

/// The parts of a serialized DAG the grid reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Shape {
    #[serde(default)]
    pub tasks: Vec<ShapeTask>,
    #[serde(default)]
    pub task_groups: Vec<ShapeGroup>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShapeTask {
    pub task_id: String,
    #[serde(default)]
    pub upstream_task_ids: Vec<String>,
    #[serde(default)]
    pub task_group: Option<String>,
    #[serde(default)]
    pub trigger_rule: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShapeGroup {
    pub group_id: String,
    #[serde(default)]
    pub parent_group_id: Option<String>,
}

impl Shape {
    /// Reads the shape from a serialized DAG; an unreadable one has no tasks.
    pub fn from_serialized(data: Option<&Value>) -> Self {
        data.and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    pub fn task(&self, task_id: &str) -> Option<&ShapeTask> {
        self.tasks.iter().find(|t| t.task_id == task_id)
    }

    /// Task ids in topological order (upstreams first); ties keep the
    /// serialized order. Tasks in a cycle (which a parsed DAG cannot have)
    /// come last, in serialized order.
    pub fn topological(&self) -> Vec<&str> {
        let index: HashMap<&str, usize> = self
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.task_id.as_str(), i))
            .collect();
        let mut pending: Vec<usize> = vec![0; self.tasks.len()];
        let mut downstream: Vec<Vec<usize>> = vec![Vec::new(); self.tasks.len()];
        for (i, t) in self.tasks.iter().enumerate() {
            for up in &t.upstream_task_ids {
                if let Some(&u) = index.get(up.as_str()) {
                    pending[i] += 1;
                    downstream[u].push(i);
                }
            }
        }
        // A min-ordered ready set keeps ties in serialized order.
        let mut ready: BTreeSet<usize> =
            (0..self.tasks.len()).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(self.tasks.len());
        let mut placed = vec![false; self.tasks.len()];
        while let Some(i) = ready.pop_first() {
            order.push(self.tasks[i].task_id.as_str());
            placed[i] = true;
            for &d in &downstream[i] {
                pending[d] -= 1;
                if pending[d] == 0 {
                    ready.insert(d);
                }
            }
        }
        order.extend(
            self.tasks
                .iter()
                .enumerate()
                .filter(|(i, _)| !placed[*i])
                .map(|(_, t)| t.task_id.as_str()),
        );
        order
    }

    /// The groups a task is in, outermost first.
    fn group_chain(&self, task: &ShapeTask) -> Vec<String> {
        let parents: HashMap<&str, Option<&str>> = self
            .task_groups
            .iter()
            .map(|g| (g.group_id.as_str(), g.parent_group_id.as_deref()))
            .collect();
        let mut chain = Vec::new();
        let mut group = task.task_group.as_deref();
        // Bounded: a malformed parent cycle cannot loop forever.
        while let Some(g) = group {
            if chain.len() > self.task_groups.len() || chain.iter().any(|c| c == g) {
                break;
            }
            chain.push(g.to_owned());
            group = parents.get(g).copied().flatten();
        }
        chain.reverse();
        chain
    }

    /// The grid's rows: groups before their members, members in
    /// topological order, each group where its first member comes.
    pub fn rows(&self) -> Vec<RowSpec> {
        #[derive(Default)]
        struct Node {
            children: Vec<Child>,
        }
        enum Child {
            Task(String),
            Group(String, Node),
        }
        fn insert(node: &mut Node, path: &[String], task: &str) {
            match path.split_first() {
                None => node.children.push(Child::Task(task.to_owned())),
                Some((first, rest)) => {
                    let pos = node
                        .children
                        .iter()
                        .position(|c| matches!(c, Child::Group(g, _) if g == first));
                    let pos = pos.unwrap_or_else(|| {
                        node.children
                            .push(Child::Group(first.clone(), Node::default()));
                        node.children.len() - 1
                    });
                    if let Child::Group(_, inner) = &mut node.children[pos] {
                        insert(inner, rest, task);
                    }
                }
            }
        }
        fn flatten(node: &Node, parents: &mut Vec<String>, out: &mut Vec<RowSpec>) {
            for child in &node.children {
                match child {
                    Child::Task(id) => out.push(RowSpec {
                        id: id.clone(),
                        is_group: false,
                        parents: parents.clone(),
                        members: vec![id.clone()],
                    }),
                    Child::Group(id, inner) => {
                        let at = out.len();
                        out.push(RowSpec {
                            id: id.clone(),
                            is_group: true,
                            parents: parents.clone(),
                            members: Vec::new(),
                        });
                        parents.push(id.clone());
                        flatten(inner, parents, out);
                        parents.pop();
                        let members = out[at + 1..]
                            .iter()
                            .filter(|r| !r.is_group)
                            .map(|r| r.id.clone())
                            .collect();
                        out[at].members = members;
                    }
                }
            }
        }
        let mut root = Node::default();
        for task_id in self.topological() {
            let chain = self
                .task(task_id)
                .map(|t| self.group_chain(t))
                .unwrap_or_default();
            insert(&mut root, &chain, task_id);
        }
        let mut out = Vec::new();
        flatten(&root, &mut Vec::new(), &mut out);
        out
    }
}

/// A row of the grid: a task, or a task group standing for its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSpec {
    pub id: String,
    pub is_group: bool,
    /// The groups this row is inside, outermost first.
    pub parents: Vec<String>,
    /// The task ids whose states the row shows (itself, for a task).
    pub members: Vec<String>,
}

/// Airflow's `State.state_priority`: a group or a mapped task shows the
/// state of highest priority among its task instances.
pub fn priority(state: Option<&str>) -> u8 {
    match state {
        Some("failed") => 13,
        Some("upstream_failed") => 12,
        Some("up_for_retry") => 11,
        Some("up_for_reschedule") => 10,
        Some("queued") => 9,
        Some("scheduled") => 8,
        Some("deferred") => 7,
        Some("running") => 6,
        Some("restarting") => 5,
        None => 4,
        Some("success") => 3,
        Some("skipped") => 2,
        Some("removed") => 1,
        Some(_) => 4,
    }
}

/// What a cell knows: the summary state and the lowest map index seen (to
/// link a mapped task to its first instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellState {
    pub state: Option<String>,
    pub first_map_index: i32,
}

/// Task instance states folded per task and run column.
#[derive(Debug, Default)]
pub struct Cells {
    columns: HashMap<String, usize>,
    by_task: HashMap<String, Vec<Option<CellState>>>,
}

impl Cells {
    /// For the runs `run_ids`, in column order.
    pub fn new(run_ids: &[String]) -> Self {
        Self {
            columns: run_ids
                .iter()
                .enumerate()
                .map(|(i, r)| (r.clone(), i))
                .collect(),
            by_task: HashMap::new(),
        }
    }

    /// Adds one task instance (of a run not among the columns: ignored).
    pub fn add(&mut self, run_id: &str, task_id: &str, map_index: i32, state: Option<String>) {
        let Some(&col) = self.columns.get(run_id) else {
            return;
        };
        let width = self.columns.len();
        let row = self
            .by_task
            .entry(task_id.to_owned())
            .or_insert_with(|| vec![None; width]);
        match &mut row[col] {
            slot @ None => {
                *slot = Some(CellState {
                    state,
                    first_map_index: map_index,
                });
            }
            Some(cell) => {
                if priority(state.as_deref()) > priority(cell.state.as_deref()) {
                    cell.state = state;
                }
                cell.first_map_index = cell.first_map_index.min(map_index);
            }
        }
    }

    /// A task's cells by column (`None`: no task instance in any run).
    pub fn row(&self, task_id: &str) -> Option<&[Option<CellState>]> {
        self.by_task.get(task_id).map(Vec::as_slice)
    }

    /// The summary over several tasks (a group) in column `col`; `None`:
    /// none of them has a task instance in that run.
    pub fn summary(&self, col: usize, task_ids: &[String]) -> Option<Option<&str>> {
        task_ids
            .iter()
            .filter_map(|t| self.by_task.get(t)?.get(col)?.as_ref())
            .map(|c| c.state.as_deref())
            .max_by_key(|s| priority(*s))
    }

    /// Task ids with an instance in a shown run but not in the DAG's shape
    /// (removed from the file since), sorted.
    pub fn unknown_tasks(&self, shape: &Shape) -> Vec<String> {
        let mut out: Vec<String> = self
            .by_task
            .keys()
            .filter(|t| shape.task(t).is_none())
            .cloned()
            .collect();
        out.sort();
        out
    }
}

/// Runs shown in a grid: `?num_runs=`, default 25, at least 1, at most 365.
pub fn num_runs(query: Option<&str>) -> i64 {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "num_runs")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .map_or(25, |n| n.clamp(1, 365))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape() -> Shape {
        Shape::from_serialized(Some(&json!({
            "tasks": [
                {"task_id": "end", "upstream_task_ids": ["g.inner.c", "g.b"]},
                {"task_id": "g.b", "upstream_task_ids": ["start"], "task_group": "g"},
                {"task_id": "g.inner.c", "upstream_task_ids": ["g.b"], "task_group": "g.inner"},
                {"task_id": "start"},
            ],
            "task_groups": [
                {"group_id": "g", "parent_group_id": null},
                {"group_id": "g.inner", "parent_group_id": "g"},
            ]
        })))
    }

    // Invariant: rows follow the DAG's order (upstreams first) and a group
    // comes right before its members, nested.
    #[test]
    fn rows_in_dag_order_with_groups() {
        let rows = shape().rows();
        let ids: Vec<(&str, bool, usize)> = rows
            .iter()
            .map(|r| (r.id.as_str(), r.is_group, r.parents.len()))
            .collect();
        assert_eq!(
            ids,
            [
                ("start", false, 0),
                ("g", true, 0),
                ("g.b", false, 1),
                ("g.inner", true, 1),
                ("g.inner.c", false, 2),
                ("end", false, 0),
            ]
        );
        assert_eq!(rows[1].members, ["g.b", "g.inner.c"]);
        assert_eq!(rows[4].parents, ["g", "g.inner"]);
    }

    // Invariant: a cell for several task instances shows the one Airflow
    // ranks highest (failed over running over success).
    #[test]
    fn summary_by_airflow_priority() {
        let runs = ["r".to_owned(), "s".to_owned()];
        let mut cells = Cells::new(&runs);
        cells.add("r", "m", 1, Some("success".into()));
        cells.add("r", "m", 0, Some("running".into()));
        cells.add("r", "m", 2, Some("success".into()));
        cells.add("not shown", "m", 0, Some("failed".into()));
        assert_eq!(
            cells.row("m").map(|r| r[0].clone()),
            Some(Some(CellState {
                state: Some("running".into()),
                first_map_index: 0
            }))
        );
        assert_eq!(cells.row("m").map(|r| r[1].clone()), Some(None));
        cells.add("r", "x", -1, Some("failed".into()));
        cells.add("r", "y", -1, None);
        let group = ["m".to_owned(), "x".to_owned(), "y".to_owned()];
        assert_eq!(cells.summary(0, &group), Some(Some("failed")));
        assert_eq!(cells.summary(0, &group[2..]), Some(None));
        assert_eq!(cells.summary(1, &group), None);
        assert_eq!(cells.unknown_tasks(&shape()), ["m", "x", "y"]);
    }

    #[test]
    fn num_runs_is_bounded() {
        assert_eq!(num_runs(None), 25);
        assert_eq!(num_runs(Some("num_runs=100")), 100);
        assert_eq!(num_runs(Some("num_runs=0")), 1);
        assert_eq!(num_runs(Some("num_runs=x")), 25);
        assert_eq!(num_runs(Some("num_runs=100000")), 365);
    }
}
