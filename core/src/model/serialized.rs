//! A typed view of the serialized DAG (docs/serialized-dag.md). The JSON is
//! stored verbatim; Rust code reads the parts it needs through these types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::DagId;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SerializedDag {
    pub dag_id: DagId,
    pub fileloc: String,
    pub description: Option<String>,
    pub dag_display_name: Option<String>,
    pub schedule: Schedule,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub catchup: Option<bool>,
    pub max_active_runs: Option<i32>,
    pub max_active_tasks: Option<i32>,
    #[serde(default)]
    pub max_consecutive_failed_dag_runs: Option<i32>,
    pub is_paused_upon_creation: Option<bool>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub owner: Option<String>,
    #[serde(default)]
    pub dialect: Option<String>,
    /// Seconds.
    #[serde(default)]
    pub dagrun_timeout: Option<f64>,
    pub tasks: Vec<SerializedTask>,
    #[serde(default)]
    pub task_groups: Vec<SerializedTaskGroup>,
}

/// A task group, as far as running its tasks needs it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SerializedTaskGroup {
    pub group_id: String,
    #[serde(default)]
    pub parent_group_id: Option<String>,
    /// A mapped group's expansion (`@task_group` … `.expand`), else null.
    #[serde(default)]
    pub mapped: Option<Value>,
}

impl SerializedDag {
    /// The `mapped` block a task runs with: its own, or that of the nearest
    /// mapped task group it is in (every task of a mapped group expands
    /// with the group).
    pub fn mapping_of<'a>(&'a self, task: &'a SerializedTask) -> Option<&'a Value> {
        if let Some(own) = task.mapped.as_ref().filter(|m| !m.is_null()) {
            return Some(own);
        }
        let mut group = task.task_group.as_deref();
        // Bounded walk up the parents: a malformed cycle cannot loop forever.
        for _ in 0..=self.task_groups.len() {
            let g = self
                .task_groups
                .iter()
                .find(|g| Some(g.group_id.as_str()) == group)?;
            if let Some(m) = g.mapped.as_ref().filter(|m| !m.is_null()) {
                return Some(m);
            }
            group = g.parent_group_id.as_deref();
        }
        None
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SerializedTask {
    pub task_id: String,
    pub task_type: String,
    #[serde(default)]
    pub operator_kind: String,
    #[serde(default)]
    pub upstream_task_ids: Vec<String>,
    #[serde(default)]
    pub downstream_task_ids: Vec<String>,
    #[serde(default = "all_success")]
    pub trigger_rule: String,
    #[serde(default)]
    pub is_setup: bool,
    // Numbers are read leniently (a DAG file may give `retries=2.0`).
    #[serde(default)]
    pub retries: Option<f64>,
    #[serde(default)]
    pub pool: Option<String>,
    #[serde(default)]
    pub pool_slots: Option<f64>,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub priority_weight: Option<f64>,
    /// A name (`downstream`, `upstream`, `absolute`) or a custom strategy.
    #[serde(default)]
    pub weight_rule: Option<Value>,
    #[serde(default)]
    pub max_active_tis_per_dag: Option<i64>,
    #[serde(default)]
    pub max_active_tis_per_dagrun: Option<i64>,
    #[serde(default)]
    pub depends_on_past: bool,
    #[serde(default)]
    pub ignore_first_depends_on_past: bool,
    #[serde(default)]
    pub wait_for_past_depends_before_skipping: bool,
    #[serde(default)]
    pub wait_for_downstream: bool,
    /// The task's own `start_date` (ISO 8601), when it has one.
    #[serde(default)]
    pub start_date: Option<String>,
    /// Dynamic task mapping (`.expand`/`.expand_kwargs`), else null.
    #[serde(default)]
    pub mapped: Option<Value>,
    /// The innermost task group the task is in.
    #[serde(default)]
    pub task_group: Option<String>,
    /// Seconds.
    #[serde(default)]
    pub retry_delay: Option<f64>,
    #[serde(default)]
    pub retry_exponential_backoff: bool,
    /// Seconds.
    #[serde(default)]
    pub max_retry_delay: Option<f64>,
}

fn all_success() -> String {
    "all_success".to_owned()
}

/// Only the tasks of a serialized DAG, for readers that need nothing else.
#[derive(Debug, Clone, Deserialize)]
pub struct SerializedTasks {
    pub tasks: Vec<SerializedTask>,
}

/// When a DAG runs (`schedule` in the serialized DAG).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    None,
    Once,
    Continuous,
    Cron {
        expr: String,
        preset: Option<String>,
        timezone: Option<String>,
        timetable: Option<String>,
        /// `CronTriggerTimetable(interval=)`: seconds, or relativedelta fields.
        #[serde(default)]
        interval: Option<Value>,
        /// `CronTriggerTimetable(run_immediately=)`: true, false, "auto" or seconds.
        #[serde(default)]
        run_immediately: Option<Value>,
    },
    Delta {
        seconds: f64,
        timetable: Option<String>,
        #[serde(default)]
        interval: Option<Value>,
    },
    Relativedelta {
        value: Value,
        #[serde(default)]
        timetable: Option<String>,
        #[serde(default)]
        interval: Option<Value>,
    },
    Assets {
        condition: Value,
    },
    Timetable {
        class: String,
        description: Option<String>,
        args: Option<Value>,
    },
    AssetOrTime {
        condition: Value,
        timetable: Box<Schedule>,
    },
    /// Neither `schedule` nor `schedule_interval` was given: daily in 2.x,
    /// none in 3.x (decided by the scheduler).
    Default,
}

impl Schedule {
    /// What the DAG list shows, in Airflow's words.
    pub fn summary(&self) -> String {
        match self {
            Self::None => "None".into(),
            Self::Once => "@once".into(),
            Self::Continuous => "@continuous".into(),
            Self::Cron { expr, preset, .. } => preset.clone().unwrap_or_else(|| expr.clone()),
            Self::Delta { seconds, .. } => python_timedelta_str(*seconds),
            Self::Relativedelta { value, .. } => format!("relativedelta({value})"),
            Self::Assets { .. } => "Asset".into(),
            Self::Timetable {
                class, description, ..
            } => description.clone().unwrap_or_else(|| class.clone()),
            Self::AssetOrTime { timetable, .. } => format!("Asset or {}", timetable.summary()),
            Self::Default => "Default".into(),
        }
    }
}

/// `str(timedelta)` as Python prints it: `1 day, 0:00:00`, `0:05:00`.
fn python_timedelta_str(seconds: f64) -> String {
    let micros = (seconds * 1e6).round();
    crate::timetable::timedelta_str(chrono::TimeDelta::microseconds(micros as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_read_like_airflow() {
        assert_eq!(Schedule::None.summary(), "None");
        let daily = Schedule::Cron {
            expr: "0 0 * * *".into(),
            preset: Some("@daily".into()),
            timezone: None,
            timetable: None,
            interval: None,
            run_immediately: None,
        };
        assert_eq!(daily.summary(), "@daily");
        let delta = |s| Schedule::Delta {
            seconds: s,
            timetable: None,
            interval: None,
        };
        assert_eq!(delta(86_400.0).summary(), "1 day, 0:00:00");
        assert_eq!(delta(300.0).summary(), "0:05:00");
        assert_eq!(
            delta(2.0 * 86_400.0 + 90.5).summary(),
            "2 days, 0:01:30.500000"
        );
    }

    #[test]
    fn schedule_reads_the_contract_shapes() {
        let s: Schedule = serde_json::from_str(
            r#"{"type":"cron","expr":"*/5 * * * *","preset":null,"timezone":"UTC","timetable":"trigger"}"#,
        )
        .expect("cron");
        assert_eq!(s.summary(), "*/5 * * * *");
        let s: Schedule = serde_json::from_str(r#"{"type":"default"}"#).expect("default");
        assert_eq!(s, Schedule::Default);
        assert!(serde_json::from_str::<Schedule>(r#"{"type":"hourly-ish"}"#).is_err());
    }
}
