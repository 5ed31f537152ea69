//! What people do by hand to task instances (the CLI's `tasks clear`, the
//! UI's clear and mark): which task instances a request selects, and
//! clearing them with their runs requeued. The state changes themselves
//! (and their audit rows) are `core::store::ti_state::{clear, mark}`.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use updraft_core::model::serialized::{SerializedTask, SerializedTasks};
use updraft_core::store::dag_runs;
use updraft_core::store::events;
use updraft_core::store::task_instances::{self, TiView};
use updraft_core::store::ti_state::{self, ClearTarget, MarkAs, TiRow};

use crate::plan;
use crate::{Error, Result};

/// The task ids `keep` selects, plus their upstream and/or downstream
/// relatives, recursively (Airflow's `partial_subset`).
pub fn select_tasks(
    tasks: &SerializedTasks,
    keep: impl Fn(&str) -> bool,
    upstream: bool,
    downstream: bool,
) -> BTreeSet<String> {
    let matched: Vec<&str> = tasks
        .tasks
        .iter()
        .map(|t| t.task_id.as_str())
        .filter(|id| keep(id))
        .collect();
    let by_id: HashMap<&str, &SerializedTask> = tasks
        .tasks
        .iter()
        .map(|t| (t.task_id.as_str(), t))
        .collect();
    let mut out: BTreeSet<String> = matched.iter().map(|s| (*s).to_owned()).collect();
    let mut walk = |next: fn(&SerializedTask) -> &Vec<String>| {
        let mut stack: Vec<&str> = matched.clone();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        while let Some(id) = stack.pop() {
            let Some(task) = by_id.get(id) else { continue };
            for rel in next(task) {
                if seen.insert(rel.as_str()) {
                    out.insert(rel.clone());
                    stack.push(rel.as_str());
                }
            }
        }
    };
    if upstream {
        walk(|t| &t.upstream_task_ids);
    }
    if downstream {
        walk(|t| &t.downstream_task_ids);
    }
    out
}

/// The options of a clear or mark of one task instance from the UI
/// (Airflow's check boxes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spread {
    pub upstream: bool,
    pub downstream: bool,
    /// Also the runs with an earlier logical date.
    pub past: bool,
    /// Also the runs with a later logical date.
    pub future: bool,
    /// Only failed and upstream_failed task instances.
    pub only_failed: bool,
}

/// The current tasks of `dag_id` (`None`: no such DAG).
pub async fn dag_tasks(pool: &PgPool, dag_id: &str) -> Result<Option<SerializedTasks>> {
    let Some(data) = updraft_core::store::dags::serialized(pool, dag_id).await? else {
        return Ok(None);
    };
    SerializedTasks::deserialize(&data)
        .map(Some)
        .map_err(|source| Error::Corrupt {
            dag_id: dag_id.to_owned(),
            source,
        })
}

/// The task instances a clear or mark of `task_id` in run `run_id` with
/// `spread` affects: Airflow's dry run. Empty when the run does not exist.
pub async fn affected(
    conn: &mut PgConnection,
    tasks: &SerializedTasks,
    dag_id: &str,
    run_id: &str,
    task_id: &str,
    spread: Spread,
) -> Result<Vec<TiView>> {
    let Some(run) = dag_runs::get(conn, dag_id, run_id).await? else {
        return Ok(Vec::new());
    };
    let selected = select_tasks(
        tasks,
        |id| id == task_id,
        spread.upstream,
        spread.downstream,
    );
    let at: Option<DateTime<Utc>> = run.logical_date;
    let (one_run, start, end) = match at {
        Some(at) if spread.past || spread.future => (
            None,
            (!spread.past).then_some(at),
            (!spread.future).then_some(at),
        ),
        _ => (Some(run_id), None, None),
    };
    Ok(task_instances::views(conn, dag_id, one_run, start, end)
        .await?
        .into_iter()
        .filter(|v| selected.contains(&v.task_id))
        .filter(|v| {
            !spread.only_failed || matches!(v.state.as_deref(), Some("failed" | "upstream_failed"))
        })
        .collect())
}

/// Clears `tis` (of `dag_id`) so they run again, each getting all its
/// retries back, and requeues their runs, in one transaction; `by_user` is
/// the audit rows' owner. Returns the rows cleared.
pub async fn clear(
    pool: &PgPool,
    tasks: &SerializedTasks,
    dag_id: &str,
    tis: &[TiView],
    by_user: &str,
) -> Result<Vec<TiRow>> {
    let mut tx = pool.begin().await?;
    let cleared = clear_in(&mut tx, &tasks.tasks, dag_id, tis, by_user).await?;
    tx.commit().await?;
    Ok(cleared)
}

/// [`clear`] inside the caller's transaction (a backfill re-running
/// existing runs clears them in the transaction that creates it).
pub async fn clear_in(
    conn: &mut PgConnection,
    tasks: &[SerializedTask],
    dag_id: &str,
    tis: &[TiView],
    by_user: &str,
) -> Result<Vec<TiRow>> {
    // Retries as the scheduler gives them to new task instances.
    let retries: HashMap<String, i32> = plan::task_instances(tasks)
        .into_iter()
        .map(|t| (t.task_id, t.max_tries))
        .collect();
    let targets: Vec<ClearTarget> = tis
        .iter()
        .map(|v| ClearTarget {
            ti_id: v.id,
            retries: retries.get(&v.task_id).copied(),
        })
        .collect();
    let run_ids: Vec<String> = tis
        .iter()
        .map(|v| v.run_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let cleared = ti_state::clear(&mut *conn, &targets, by_user).await?;
    dag_runs::requeue_cleared(&mut *conn, dag_id, &run_ids).await?;
    events::notify(conn, events::RUN_QUEUED).await?;
    Ok(cleared)
}

/// Marks `tis` `to` (those already in that state are left alone) in one
/// transaction, each with its audit row; `by_user` is the rows' owner.
/// Returns how many changed.
pub async fn mark(pool: &PgPool, tis: &[TiView], to: MarkAs, by_user: &str) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let mut changed = 0;
    for ti in tis {
        if ti_state::mark(&mut tx, ti.id, to, by_user)
            .await?
            .is_applied()
        {
            changed += 1;
        }
    }
    // The scheduler looks again at the runs: their downstream tasks may
    // now be ready, or the run finished.
    events::notify(&mut tx, events::TI_FINISHED).await?;
    tx.commit().await?;
    Ok(changed)
}

/// A person sets a run's state, as Airflow's `set_dag_run_state_to_*`:
/// success marks its unfinished task instances success; failed marks its
/// running ones failed and the other unfinished ones skipped; queued leaves
/// them. One transaction. `false`: no such run.
pub async fn set_run_state(
    pool: &PgPool,
    dag_id: &str,
    run_id: &str,
    to: dag_runs::RunStateByHand,
    by_user: &str,
) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let tis = task_instances::views(&mut tx, dag_id, Some(run_id), None, None).await?;
    for ti in &tis {
        let finished = matches!(
            ti.state.as_deref(),
            Some("success" | "failed" | "skipped" | "upstream_failed" | "removed")
        );
        let mark_as = match to {
            _ if finished => None,
            dag_runs::RunStateByHand::Queued => None,
            dag_runs::RunStateByHand::Success => Some(MarkAs::Success),
            dag_runs::RunStateByHand::Failed if ti.state.as_deref() == Some("running") => {
                Some(MarkAs::Failed)
            }
            dag_runs::RunStateByHand::Failed => Some(MarkAs::Skipped),
        };
        if let Some(mark_as) = mark_as {
            ti_state::mark(&mut tx, ti.id, mark_as, by_user).await?;
        }
    }
    if !dag_runs::set_state_by_hand(&mut tx, dag_id, run_id, to).await? {
        return Ok(false);
    }
    events::notify(&mut tx, events::RUN_QUEUED).await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> SerializedTasks {
        // a -> b -> c, x alone
        let t = |id: &str, up: &[&str], down: &[&str]| {
            serde_json::json!({"task_id": id, "task_type": "EmptyOperator",
                "upstream_task_ids": up, "downstream_task_ids": down})
        };
        serde_json::from_value(serde_json::json!({"tasks": [
            t("a", &[], &["b"]), t("b", &["a"], &["c"]), t("c", &["b"], &[]), t("x", &[], &[])
        ]}))
        .expect("tasks")
    }

    #[test]
    fn selects_relatives_recursively() {
        let g = graph();
        let ids = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>();
        assert_eq!(ids(select_tasks(&g, |id| id == "b", false, false)), ["b"]);
        assert_eq!(
            ids(select_tasks(&g, |id| id == "c", true, false)),
            ["a", "b", "c"]
        );
        assert_eq!(
            ids(select_tasks(&g, |id| id == "a", false, true)),
            ["a", "b", "c"]
        );
        assert_eq!(ids(select_tasks(&g, |_| true, false, false)).len(), 4);
    }
}
