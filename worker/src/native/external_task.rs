//! ExternalTaskSensor and ExternalTaskMarker. The sensor waits for tasks, a
//! task group, or the whole run of another DAG at this run's logical date
//! (minus `execution_delta`): any in `failed_states` fails it, any in
//! `skipped_states` skips it, all in `allowed_states` is done, in Airflow's
//! order. `execution_date_fn` is a Python callable and cannot run natively.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value as Json;
use updraft_core::store::{dag_runs, dags, task_instances};

use super::{fail, field, seconds_of, strings, this_run};
use crate::dispatch::TryCtx;
use crate::outcome::{Ended, Outcome, Poke};
use crate::sensor;

/// What the external states say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Done,
    NotYet,
    Failed,
    Skipped,
}

/// The sensor's states, by role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSets {
    pub allowed: Vec<String>,
    pub failed: Vec<String>,
    pub skipped: Vec<String>,
}

/// Judges task instance states of `task_ids` (several rows per mapped task):
/// done when every listed task has instances and all are allowed.
pub fn judge_tasks(
    rows: &[(String, Option<String>)],
    task_ids: &[String],
    sets: &StateSets,
) -> Verdict {
    let is_in = |s: &Option<String>, set: &[String]| s.as_ref().is_some_and(|s| set.contains(s));
    if rows.iter().any(|(_, s)| is_in(s, &sets.failed)) {
        return Verdict::Failed;
    }
    if rows.iter().any(|(_, s)| is_in(s, &sets.skipped)) {
        return Verdict::Skipped;
    }
    // Every listed task seen, and none of its rows outside `allowed`.
    let all_allowed = task_ids.iter().all(|t| {
        let mine: Vec<_> = rows.iter().filter(|(id, _)| id == t).collect();
        !mine.is_empty() && mine.iter().all(|(_, s)| is_in(s, &sets.allowed))
    });
    if all_allowed && !task_ids.is_empty() {
        Verdict::Done
    } else {
        Verdict::NotYet
    }
}

/// Judges the states of the external DAG's runs at the date.
pub fn judge_runs(states: &[String], sets: &StateSets) -> Verdict {
    if states.iter().any(|s| sets.failed.contains(s)) {
        Verdict::Failed
    } else if states.iter().any(|s| sets.skipped.contains(s)) {
        Verdict::Skipped
    } else if !states.is_empty() && states.iter().all(|s| sets.allowed.contains(s)) {
        Verdict::Done
    } else {
        Verdict::NotYet
    }
}

/// The task ids of group `group_id` (nested groups included) in a
/// serialized DAG.
pub fn group_tasks(dag: &Json, group_id: &str) -> Option<Vec<String>> {
    let groups = dag.get("task_groups")?.as_array()?;
    let children = |id: &str| -> Option<Vec<String>> {
        groups
            .iter()
            .find(|g| g.get("group_id").and_then(Json::as_str) == Some(id))
            .and_then(|g| g.get("children"))
            .and_then(|c| strings(c).ok())
    };
    let mut out = BTreeSet::new();
    let mut stack = vec![group_id.to_owned()];
    let mut seen = BTreeSet::new();
    children(group_id)?;
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        for c in children(&id).unwrap_or_default() {
            if children(&c).is_some() {
                stack.push(c);
            } else {
                out.insert(c);
            }
        }
    }
    Some(out.into_iter().collect())
}

/// What the sensor waits for.
enum Target {
    Tasks(Vec<String>),
    Dag,
}

fn state_list(cx: &TryCtx<'_>, name: &str, default: &[&str]) -> Result<Vec<String>, String> {
    match field(cx, name) {
        None => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
        Some(v) => strings(v).map_err(|e| format!("{name}: {e}")),
    }
}

async fn setup(cx: &TryCtx<'_>) -> Result<(String, Target, DateTime<Utc>, StateSets), String> {
    let dag_id = field(cx, "external_dag_id")
        .and_then(Json::as_str)
        .ok_or("ExternalTaskSensor needs external_dag_id")?
        .to_owned();
    let sets = StateSets {
        allowed: state_list(cx, "allowed_states", &["success"])?,
        failed: state_list(cx, "failed_states", &[])?,
        skipped: state_list(cx, "skipped_states", &[])?,
    };
    let ids = match field(cx, "external_task_ids") {
        Some(v) => Some(strings(v)?),
        None => field(cx, "external_task_id").map(strings).transpose()?,
    };
    let group = field(cx, "external_task_group_id").and_then(Json::as_str);
    let check = field(cx, "check_existence").and_then(Json::as_bool) == Some(true);
    let external = if group.is_some() || check {
        let dag = dags::serialized(&cx.env.pool, &dag_id)
            .await
            .map_err(|e| format!("reading DAG {dag_id}: {e}"))?;
        Some(dag.ok_or_else(|| format!("The external DAG {dag_id} does not exist."))?)
    } else {
        None
    };
    let target = match (ids, group, &external) {
        (_, Some(g), Some(dag)) => Target::Tasks(group_tasks(dag, g).ok_or_else(|| {
            format!("The external task group '{g}' in DAG '{dag_id}' does not exist.")
        })?),
        (Some(ids), _, _) if !ids.is_empty() => Target::Tasks(ids),
        _ => Target::Dag,
    };
    if let (true, Target::Tasks(ids), Some(dag)) = (check, &target, &external) {
        let known: BTreeSet<&str> = dag
            .get("tasks")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("task_id").and_then(Json::as_str))
            .collect();
        if let Some(missing) = ids.iter().find(|t| !known.contains(t.as_str())) {
            return Err(format!(
                "The external task {missing} in DAG {dag_id} does not exist."
            ));
        }
    }
    let run = this_run(cx).await?;
    let base = run.logical_date.unwrap_or(run.run_after);
    let delta = field(cx, "execution_delta")
        .map(seconds_of)
        .transpose()?
        .unwrap_or(0.0);
    let at = base - TimeDelta::microseconds((delta * 1e6) as i64);
    Ok((dag_id, target, at, sets))
}

async fn look(
    cx: &TryCtx<'_>,
    dag_id: &str,
    target: &Target,
    at: DateTime<Utc>,
    sets: &StateSets,
) -> Result<Verdict, String> {
    let mut conn = cx.conn().await?;
    match target {
        Target::Tasks(ids) => {
            let rows = task_instances::states_at_logical_date(&mut conn, dag_id, at, ids)
                .await
                .map_err(|e| e.to_string())?;
            Ok(judge_tasks(&rows, ids, sets))
        }
        Target::Dag => {
            let states = dag_runs::states_at_logical_date(&mut conn, dag_id, at)
                .await
                .map_err(|e| e.to_string())?;
            Ok(judge_runs(&states, sets))
        }
    }
}

/// `external_task_sensor`.
pub async fn sensor(cx: &TryCtx<'_>) -> Outcome {
    if field(cx, "execution_date_fn").is_some() {
        // No retry can help: the callable never runs here.
        cx.sink.error(
            "execution_date_fn is a Python callable: Updraft's native ExternalTaskSensor \
             cannot call it; use execution_delta",
        );
        return Outcome::of(Ended::FailedNoRetry);
    }
    let (dag_id, target, at, sets) = match setup(cx).await {
        Ok(s) => s,
        Err(e) => return fail(cx, &e),
    };
    let what = match &target {
        Target::Tasks(ids) => format!("tasks {ids:?} in"),
        Target::Dag => "the run of".to_owned(),
    };
    let soft = crate::sensor::SensorSpec::from_task(&cx.task.task);
    let (dag_id, target, sets) = (&dag_id, &target, &sets);
    let what = &what;
    sensor::drive(cx, || async move {
        cx.sink.info(&format!(
            "Poking for {what} DAG {dag_id} on {} ...",
            updraft_core::store::dag_runs::python_isoformat(at)
        ));
        match look(cx, dag_id, target, at, sets).await {
            Ok(Verdict::Done) => Poke::Done { xcom: None },
            Ok(Verdict::NotYet) => Poke::NotYet,
            Ok(Verdict::Failed) => {
                cx.sink
                    .error(&format!("The external {what} DAG {dag_id} failed."));
                // Airflow raises AirflowException; soft_fail skips it explicitly.
                Poke::Ended(if soft.soft_fail {
                    Outcome::skipped()
                } else {
                    Outcome::failed()
                })
            }
            Ok(Verdict::Skipped) => {
                cx.sink.info(&format!(
                    "The external {what} DAG {dag_id} reached a skipped state."
                ));
                Poke::Ended(Outcome::skipped())
            }
            Err(e) => {
                cx.sink.error(&e);
                Poke::Ended(Outcome::failed())
            }
        }
    })
    .await
}

/// `external_task_marker`: nothing to do when it runs; it matters when
/// cleared (recursive clear follows it into the other DAG).
pub fn marker(cx: &TryCtx<'_>) -> Outcome {
    let dag = field(cx, "external_dag_id")
        .and_then(Json::as_str)
        .unwrap_or("?");
    let task = field(cx, "external_task_id")
        .and_then(Json::as_str)
        .unwrap_or("?");
    cx.sink.info(&format!(
        "ExternalTaskMarker for {dag}.{task}: nothing to run"
    ));
    Outcome::success(None)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sets() -> StateSets {
        StateSets {
            allowed: vec!["success".into()],
            failed: vec!["failed".into()],
            skipped: vec!["skipped".into()],
        }
    }

    fn rows(r: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        r.iter()
            .map(|(t, s)| ((*t).to_owned(), s.map(str::to_owned)))
            .collect()
    }

    // Failed beats skipped beats done; every listed task must be allowed.
    #[test]
    fn task_verdicts_follow_airflows_order() {
        let ids = vec!["a".to_owned(), "b".to_owned()];
        let s = sets();
        assert_eq!(judge_tasks(&rows(&[]), &ids, &s), Verdict::NotYet);
        assert_eq!(
            judge_tasks(&rows(&[("a", Some("success"))]), &ids, &s),
            Verdict::NotYet
        );
        assert_eq!(
            judge_tasks(&rows(&[("a", Some("success")), ("b", None)]), &ids, &s),
            Verdict::NotYet
        );
        assert_eq!(
            judge_tasks(
                &rows(&[("a", Some("success")), ("b", Some("success"))]),
                &ids,
                &s
            ),
            Verdict::Done
        );
        assert_eq!(
            judge_tasks(
                &rows(&[("a", Some("skipped")), ("b", Some("failed"))]),
                &ids,
                &s
            ),
            Verdict::Failed
        );
        assert_eq!(
            judge_tasks(
                &rows(&[("a", Some("skipped")), ("b", Some("success"))]),
                &ids,
                &s
            ),
            Verdict::Skipped
        );
        assert_eq!(judge_runs(&["running".into()], &s), Verdict::NotYet);
        assert_eq!(judge_runs(&["success".into()], &s), Verdict::Done);
        assert_eq!(judge_runs(&["failed".into()], &s), Verdict::Failed);
        assert_eq!(judge_runs(&[], &s), Verdict::NotYet);
    }

    // A group stands for its tasks, nested groups included.
    #[test]
    fn groups_expand_to_their_tasks() {
        let dag = json!({"task_groups": [
            {"group_id": "g", "children": ["g.a", "g.inner"]},
            {"group_id": "g.inner", "children": ["g.inner.b"]}]});
        assert_eq!(
            group_tasks(&dag, "g"),
            Some(vec!["g.a".to_owned(), "g.inner.b".to_owned()])
        );
        assert_eq!(group_tasks(&dag, "nope"), None);
    }
}
