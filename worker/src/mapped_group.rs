//! Tasks inside a mapped task group (`@task_group` … `.expand(arg=…)`): each
//! of their task instances (`map_index` i, expanded by the scheduler with the
//! group) sees element i of the group's argument where the group function
//! passed it on, and element i of a fellow group task's result where it
//! pulls one, as Airflow's `MappedArgument` and in-group XComArgs resolve.

use std::collections::HashSet;

use serde_json::{Map, Value as Json};
use updraft_core::model::mapping::ExpandInput;
use updraft_core::store::xcom::{self, XComRow};

use crate::task::Task;

/// The mapped group a task is in.
#[derive(Debug)]
pub struct GroupMapping {
    group_id: String,
    block: Json,
    /// Every task id inside the group (nested groups included).
    members: HashSet<String>,
}

fn tag(v: &Json) -> Option<(&str, &Json)> {
    let m = v.as_object()?;
    Some((m.get("__type")?.as_str()?, m.get("__var")?))
}

/// The nearest mapped task group of a task that is not mapped itself.
pub fn of(t: &Task) -> Option<GroupMapping> {
    if t.task.get("mapped").is_some_and(|m| !m.is_null()) {
        return None;
    }
    let groups = t.dag.get("task_groups").and_then(Json::as_array)?;
    let find = |id: &str| {
        groups
            .iter()
            .find(|g| g.get("group_id").and_then(Json::as_str) == Some(id))
    };
    let mut group = t.task.get("task_group").and_then(Json::as_str)?.to_owned();
    for _ in 0..=groups.len() {
        let entry = find(&group)?;
        if let Some(block) = entry.get("mapped").filter(|m| !m.is_null()) {
            let mut members = HashSet::new();
            let mut stack = vec![group.clone()];
            while let Some(g) = stack.pop() {
                let children = find(&g)
                    .and_then(|e| e.get("children"))
                    .and_then(Json::as_array);
                for c in children.into_iter().flatten().filter_map(Json::as_str) {
                    if find(c).is_some() {
                        stack.push(c.to_owned());
                    } else {
                        members.insert(c.to_owned());
                    }
                }
            }
            return Some(GroupMapping {
                group_id: group,
                block: block.clone(),
                members,
            });
        }
        group = entry
            .get("parent_group_id")
            .and_then(Json::as_str)?
            .to_owned();
    }
    None
}

impl GroupMapping {
    /// Resolves the group's argument and in-group pulls in `raw` (the task's
    /// fields) for task instance `map_index`.
    pub fn apply(
        &self,
        raw: &mut Map<String, Json>,
        map_index: i32,
        xcoms: &[XComRow],
    ) -> Result<(), String> {
        let Some(ExpandInput::Dict(args)) = ExpandInput::from_block(&self.block) else {
            return Err(format!(
                "task group {:?} is mapped with expand_kwargs, which Updraft does not run yet",
                self.group_id
            ));
        };
        let index = usize::try_from(map_index).map_err(|_| {
            format!(
                "task group {:?} is mapped but this task instance was not expanded",
                self.group_id
            )
        })?;
        let resolved = ExpandInput::Dict(args.clone())
            .resolve(|(task_id, key)| xcom::pulled(xcoms, task_id, key))
            .map_err(|e| format!("resolving task group {:?}'s argument: {e}", self.group_id))?;
        let element = resolved.element(index).ok_or_else(|| {
            format!(
                "map index {index} is out of range for task group {:?}",
                self.group_id
            )
        })?;
        let replacements: Vec<(Json, Json)> = args
            .iter()
            .filter_map(|(k, original)| element.get(k).map(|v| (original.clone(), v.clone())))
            .collect();
        for value in raw.values_mut() {
            self.resolve(value, &replacements, map_index, xcoms)?;
        }
        Ok(())
    }

    fn resolve(
        &self,
        value: &mut Json,
        replacements: &[(Json, Json)],
        map_index: i32,
        xcoms: &[XComRow],
    ) -> Result<(), String> {
        if let Some((_, element)) = replacements.iter().find(|(original, _)| original == value) {
            *value = element.clone();
            return Ok(());
        }
        if let Some(("xcomarg", arg)) = tag(value) {
            let task_id = arg
                .get("task_id")
                .and_then(Json::as_str)
                .unwrap_or_default();
            if self.members.contains(task_id) {
                let key = arg
                    .get("key")
                    .and_then(Json::as_str)
                    .unwrap_or(xcom::RETURN_VALUE);
                let row = xcoms
                    .iter()
                    .find(|r| r.task_id == task_id && r.key == key && r.map_index == map_index)
                    .ok_or_else(|| {
                        format!("task {task_id:?} pushed no XCom {key:?} for map index {map_index}")
                    })?;
                *value = row.value.clone().unwrap_or_default();
            }
            return Ok(());
        }
        match value {
            Json::Array(items) => items
                .iter_mut()
                .try_for_each(|v| self.resolve(v, replacements, map_index, xcoms)),
            Json::Object(m) => m
                .values_mut()
                .try_for_each(|v| self.resolve(v, replacements, map_index, xcoms)),
            _ => Ok(()),
        }
    }
}
