//! Pure run-creation decisions, no I/O: which scheduled runs are due now
//! ([`due_runs`]), and which task instances a new run gets, with Airflow's
//! priority weights ([`task_instances`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use updraft_core::model::serialized::SerializedTask;
use updraft_core::store::task_instances::NewTaskInstance;
use updraft_core::timetable::{DagSchedule, DataInterval, RunInfo};

/// What one pass should do for one DAG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuePlan {
    /// Runs to create now, oldest first.
    pub create: Vec<RunInfo>,
    /// The run after those (due or not): what `dag.next_dagrun*` shows.
    pub next: Option<RunInfo>,
}

/// The runs due at `now` after `last` (the latest automated run's interval),
/// at most `limit` of them. End date and catchup are the timetable's
/// restriction's business.
pub fn due_runs(
    schedule: &DagSchedule,
    last: Option<DataInterval>,
    now: DateTime<Utc>,
    limit: usize,
) -> DuePlan {
    let mut create = Vec::new();
    let mut last = last;
    loop {
        let Some(info) = schedule.next_dagrun_info(last.as_ref(), now) else {
            return DuePlan { create, next: None };
        };
        // Not due yet, capped, or a timetable that would repeat itself.
        if info.run_after > now || create.len() >= limit || Some(info.data_interval) == last {
            return DuePlan {
                create,
                next: Some(info),
            };
        }
        last = Some(info.data_interval);
        create.push(info);
    }
}

/// The fields of a serialized task that its task instances need.
/// Airflow's `weight_rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WeightRule {
    Downstream,
    Upstream,
    Absolute,
}

impl WeightRule {
    /// Airflow's names; a custom `PriorityWeightStrategy` (not supported yet)
    /// counts as the default, downstream.
    fn of(value: Option<&Value>) -> Self {
        match value.and_then(Value::as_str) {
            Some("upstream") => Self::Upstream,
            Some("absolute") => Self::Absolute,
            _ => Self::Downstream,
        }
    }
}

/// `db_safe_priority`: Airflow clamps weights to a 32-bit integer.
fn clamp_i32(v: f64) -> i32 {
    v.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

/// One task instance per task of the serialized DAG `data`, each with
/// `max_tries = retries` and its priority weight by the task's weight rule:
/// downstream = own + every task downstream of it (each counted once),
/// upstream = own + every task upstream of it, absolute = own.
pub fn task_instances(tasks: &[SerializedTask]) -> Vec<NewTaskInstance> {
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task_id.as_str(), i))
        .collect();
    let own: Vec<i64> = tasks
        .iter()
        .map(|t| t.priority_weight.unwrap_or(1.0).round() as i64)
        .collect();
    let edges = |pick: fn(&SerializedTask) -> &[String]| -> Vec<Vec<usize>> {
        tasks
            .iter()
            .map(|t| {
                pick(t)
                    .iter()
                    .filter_map(|id| index.get(id.as_str()).copied())
                    .collect()
            })
            .collect()
    };
    let rules: Vec<WeightRule> = tasks
        .iter()
        .map(|t| WeightRule::of(t.weight_rule.as_ref()))
        .collect();
    let down = rules
        .contains(&WeightRule::Downstream)
        .then(|| relatives_weights(&edges(|t| &t.downstream_task_ids), &own));
    let up = rules
        .contains(&WeightRule::Upstream)
        .then(|| relatives_weights(&edges(|t| &t.upstream_task_ids), &own));
    tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let relatives = match rules[i] {
                WeightRule::Absolute => None,
                WeightRule::Downstream => down.as_ref(),
                WeightRule::Upstream => up.as_ref(),
            };
            let weight = own[i].saturating_add(relatives.map_or(0, |w| w[i]));
            NewTaskInstance {
                task_id: t.task_id.clone(),
                operator: t.task_type.clone(),
                max_tries: clamp_i32(t.retries.unwrap_or(0.0).max(0.0)),
                pool: t.pool.clone().unwrap_or_else(|| "default_pool".into()),
                pool_slots: clamp_i32(t.pool_slots.unwrap_or(1.0).max(1.0)),
                queue: t.queue.clone().unwrap_or_else(|| "default".into()),
                priority_weight: clamp_i32(weight as f64),
                max_active_tis_per_dag: t
                    .max_active_tis_per_dag
                    .map(|n| clamp_i32(n.max(0) as f64)),
                max_active_tis_per_dagrun: t
                    .max_active_tis_per_dagrun
                    .map(|n| clamp_i32(n.max(0) as f64)),
                retry_delay: t.retry_delay.filter(|s| s.is_finite() && *s >= 0.0),
                retry_exponential_backoff: t.retry_exponential_backoff,
                max_retry_delay: t.max_retry_delay.filter(|s| s.is_finite() && *s >= 0.0),
            }
        })
        .collect()
}

/// Task ids per reachability block: a bit set of this many tasks per node at
/// a time keeps memory at `n × BLOCK / 8` bytes whatever the DAG's size.
const BLOCK: usize = 4096;

/// For every task, the sum of the own weights of every task reachable from
/// it along `edges` (Airflow's `get_flat_relatives`, each counted once).
/// Reachability is computed as bit sets in reverse topological order, one
/// block of target tasks at a time: O(blocks × (n + e) × BLOCK/64) word
/// operations instead of a walk per task. A cycle (which parsing rejects)
/// leaves the tasks on it without relatives.
fn relatives_weights(edges: &[Vec<usize>], own: &[i64]) -> Vec<i64> {
    relatives_weights_in_blocks(edges, own, BLOCK)
}

fn relatives_weights_in_blocks(edges: &[Vec<usize>], own: &[i64], block: usize) -> Vec<i64> {
    let n = edges.len();
    // Kahn's algorithm over reversed edges: every node after all it reaches.
    let mut pending: Vec<usize> = edges.iter().map(Vec::len).collect();
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (v, next) in edges.iter().enumerate() {
        for &c in next {
            parents[c].push(v);
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&v| pending[v] == 0).collect();
    let mut k = 0;
    while k < order.len() {
        let v = order[k];
        k += 1;
        for &p in &parents[v] {
            pending[p] -= 1;
            if pending[p] == 0 {
                order.push(p);
            }
        }
    }
    let mut total = vec![0i64; n];
    for start in (0..n).step_by(block.max(1)) {
        let end = (start + block.max(1)).min(n);
        let words = (end - start).div_ceil(64);
        let mut bits = vec![0u64; n * words];
        for &v in &order {
            for &c in &edges[v] {
                let (lo, hi) = (v.min(c), v.max(c));
                let (head, tail) = bits.split_at_mut(hi * words);
                let (vs, cs) = if v < c {
                    (&mut head[lo * words..lo * words + words], &tail[..words])
                } else {
                    (&mut tail[..words], &head[lo * words..lo * words + words])
                };
                for (a, b) in vs.iter_mut().zip(cs) {
                    *a |= *b;
                }
                if (start..end).contains(&c) {
                    let bit = c - start;
                    vs[bit / 64] |= 1u64 << (bit % 64);
                }
            }
            let row = &bits[v * words..v * words + words];
            for (w, &word) in row.iter().enumerate() {
                let mut word = word;
                while word != 0 {
                    let bit = word.trailing_zeros() as usize;
                    word &= word - 1;
                    let target = start + w * 64 + bit;
                    if target != v {
                        total[v] = total[v].saturating_add(own[target]);
                    }
                }
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde::Deserialize;
    use serde_json::json;
    use updraft_core::model::serialized::{Schedule, SerializedTasks};
    use updraft_core::timetable::{DagTiming, Dialect, ScheduleDefaults, TriggerOptions};

    use super::*;

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, d, 0, 0, 0)
            .single()
            .expect("valid date")
    }

    fn daily(catchup: bool, end: Option<DateTime<Utc>>) -> DagSchedule {
        let schedule = Schedule::Cron {
            expr: "0 0 * * *".into(),
            preset: Some("@daily".into()),
            timezone: None,
            timetable: None,
            interval: None,
            run_immediately: None,
        };
        let timing = DagTiming {
            schedule: &schedule,
            dialect: Dialect::V2,
            start_date: Some(at(1)),
            end_date: end,
            catchup: Some(catchup),
            trigger: TriggerOptions::default(),
        };
        let defaults = ScheduleDefaults {
            catchup_by_default: true,
            create_cron_data_intervals: true,
        };
        DagSchedule::new(&timing, &defaults).expect("timetable")
    }

    // Invariant: catchup creates every ended interval in order, up to the cap,
    // and the next one is remembered.
    #[test]
    fn catchup_creates_each_ended_interval_up_to_the_limit() {
        let plan = due_runs(&daily(true, None), None, at(5), 10);
        let dates: Vec<_> = plan.create.iter().map(|r| r.logical_date).collect();
        assert_eq!(dates, vec![at(1), at(2), at(3), at(4)]);
        assert_eq!(
            plan.next.map(|n| (n.logical_date, n.run_after)),
            Some((at(5), at(6)))
        );

        let capped = due_runs(&daily(true, None), None, at(5), 2);
        assert_eq!(capped.create.len(), 2);
        assert_eq!(capped.next.map(|n| n.logical_date), Some(at(3)));

        let after = due_runs(
            &daily(true, None),
            Some(capped.create[1].data_interval),
            at(5),
            10,
        );
        assert_eq!(after.create.first().map(|r| r.logical_date), Some(at(3)));
    }

    // Invariant: without catchup only the latest ended interval runs; the end
    // date stops the schedule.
    #[test]
    fn no_catchup_and_end_date() {
        let plan = due_runs(&daily(false, None), None, at(10), 10);
        let dates: Vec<_> = plan.create.iter().map(|r| r.logical_date).collect();
        assert_eq!(dates, vec![at(9)]);

        let ended = due_runs(&daily(true, Some(at(3))), None, at(10), 10);
        let dates: Vec<_> = ended.create.iter().map(|r| r.logical_date).collect();
        assert_eq!(dates, vec![at(1), at(2), at(3)]);
        assert_eq!(ended.next, None);
    }

    fn task(id: &str, up: &[&str], down: &[&str], rule: &str) -> Value {
        json!({"task_id": id, "task_type": "EmptyOperator", "upstream_task_ids": up,
               "downstream_task_ids": down, "priority_weight": 1, "weight_rule": rule,
               "retries": 2, "pool": "default_pool", "pool_slots": 1, "queue": "default"})
    }

    /// The walk per task that the bit sets replace.
    fn naive(edges: &[Vec<usize>], own: &[i64]) -> Vec<i64> {
        (0..edges.len())
            .map(|start| {
                let mut seen = std::collections::HashSet::new();
                let mut stack = vec![start];
                while let Some(v) = stack.pop() {
                    for &c in &edges[v] {
                        if seen.insert(c) {
                            stack.push(c);
                        }
                    }
                }
                seen.iter().map(|&c| own[c]).sum()
            })
            .collect()
    }

    // Invariant: bit-set reachability sums equal a walk per task on random
    // DAGs, whatever the block size.
    #[test]
    fn relatives_weights_match_a_walk_per_task() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in [1usize, 2, 63, 64, 65, 300] {
            // Edges only from lower to higher index: acyclic.
            let edges: Vec<Vec<usize>> = (0..n)
                .map(|v| {
                    let k = (next() % 4) as usize;
                    (0..k)
                        .filter_map(|_| {
                            let span = n - v - 1;
                            (span > 0).then(|| v + 1 + (next() as usize) % span)
                        })
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect()
                })
                .collect();
            let own: Vec<i64> = (0..n).map(|_| (next() % 5) as i64 + 1).collect();
            let expected = naive(&edges, &own);
            for block in [1, 7, 64, 100, BLOCK] {
                assert_eq!(
                    relatives_weights_in_blocks(&edges, &own, block),
                    expected,
                    "n={n} block={block}"
                );
            }
        }
    }

    // Invariant: weights follow Airflow's rules on a diamond a -> (b, c) -> d,
    // where d is downstream of a twice but counted once.
    #[test]
    fn priority_weights_by_rule_on_a_diamond() {
        for (rule, expected) in [
            ("downstream", [("a", 4), ("b", 2), ("c", 2), ("d", 1)]),
            ("upstream", [("a", 1), ("b", 2), ("c", 2), ("d", 4)]),
            ("absolute", [("a", 1), ("b", 1), ("c", 1), ("d", 1)]),
        ] {
            let data = json!({"tasks": [
                task("a", &[], &["b", "c"], rule),
                task("b", &["a"], &["d"], rule),
                task("c", &["a"], &["d"], rule),
                task("d", &["b", "c"], &[], rule),
            ]});
            let tasks = SerializedTasks::deserialize(&data).expect("tasks").tasks;
            let tis = task_instances(&tasks);
            let got: Vec<(&str, i32)> = tis
                .iter()
                .map(|t| (t.task_id.as_str(), t.priority_weight))
                .collect();
            assert_eq!(got, expected.to_vec(), "{rule}");
            assert!(
                tis.iter()
                    .all(|t| t.max_tries == 2 && t.operator == "EmptyOperator")
            );
        }
    }
}
