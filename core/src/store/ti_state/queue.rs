//! `scheduled` → `queued`: the one place that decides what may start, within
//! pools, `max_active_tasks` and the per-task caps.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection};
use uuid::Uuid;

use super::TiRow;
use crate::Result;

/// The DAG's `max_active_tasks` when it has none (`[core] max_active_tasks_per_dag`).
pub const DEFAULT_MAX_ACTIVE_TASKS: i32 = 16;

#[derive(sqlx::FromRow)]
struct Candidate {
    id: Uuid,
    dag_id: String,
    run_id: String,
    task_id: String,
    pool: String,
    pool_slots: i32,
    /// `None`: unlimited.
    pool_open: Option<i64>,
    dag_open: i64,
    /// `max_active_tis_per_dag` left for this task (`None`: no cap).
    task_open: Option<i64>,
    /// `max_active_tis_per_dagrun` left for this task in this run.
    run_task_open: Option<i64>,
}

/// `scheduled` → `queued`, at most `limit`, by priority (then run, map index,
/// id), within each pool's open slots (`slots` − slots of its queued and
/// running TIs, deferred too if the pool says so; −1 = unlimited) and each
/// DAG's `max_active_tasks` (queued + running across its runs), and each
/// task's `max_active_tis_per_dag` / `max_active_tis_per_dagrun`. Only TIs of
/// running runs of unpaused DAGs, in pools that exist. All pool rows are
/// locked first, so concurrent callers take turns and never overfill.
pub async fn queue_scheduled(
    conn: &mut PgConnection,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<TiRow>> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT 1 FROM pool ORDER BY pool FOR UPDATE")
        .execute(&mut *tx)
        .await?;
    let candidates: Vec<Candidate> = sqlx::query_as(
        "WITH used AS (
             SELECT ti.pool, sum(ti.pool_slots) AS slots FROM task_instance ti JOIN pool p USING (pool)
              WHERE ti.state IN ('queued', 'running') OR (ti.state = 'deferred' AND p.include_deferred)
              GROUP BY ti.pool),
         busy AS (
             SELECT dag_id, run_id, task_id, count(*) AS n FROM task_instance
              WHERE state IN ('queued', 'running') GROUP BY dag_id, run_id, task_id),
         active AS (SELECT dag_id, sum(n) AS n FROM busy GROUP BY dag_id),
         task_active AS (SELECT dag_id, task_id, sum(n) AS n FROM busy GROUP BY dag_id, task_id)
         SELECT ti.id, ti.dag_id, ti.run_id, ti.task_id, ti.pool, ti.pool_slots,
                CASE WHEN p.slots = -1 THEN NULL
                     ELSE p.slots - COALESCE(u.slots, 0) END::int8 AS pool_open,
                (COALESCE(d.max_active_tasks, $2) - COALESCE(a.n, 0))::int8 AS dag_open,
                (ti.max_active_tis_per_dag
                   - COALESCE((SELECT n FROM task_active ta
                                WHERE ta.dag_id = ti.dag_id AND ta.task_id = ti.task_id), 0))::int8
                  AS task_open,
                (ti.max_active_tis_per_dagrun
                   - COALESCE((SELECT n FROM busy b WHERE b.dag_id = ti.dag_id
                                 AND b.run_id = ti.run_id AND b.task_id = ti.task_id), 0))::int8
                  AS run_task_open
           FROM task_instance ti
           JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id
           JOIN dag d ON d.dag_id = ti.dag_id
           JOIN pool p ON p.pool = ti.pool
           LEFT JOIN used u ON u.pool = ti.pool
           LEFT JOIN active a ON a.dag_id = ti.dag_id
          WHERE ti.state = 'scheduled' AND dr.state = 'running' AND NOT d.is_paused
            AND (p.slots = -1 OR p.slots - COALESCE(u.slots, 0) >= ti.pool_slots)
            AND COALESCE(d.max_active_tasks, $2) > COALESCE(a.n, 0)
          ORDER BY ti.priority_weight DESC, dr.run_after, ti.map_index, ti.id
          LIMIT $1
          FOR UPDATE OF ti SKIP LOCKED",
    )
    .bind(limit.saturating_mul(4))
    .bind(DEFAULT_MAX_ACTIVE_TASKS)
    .fetch_all(&mut *tx)
    .await?;

    let mut pool_open: HashMap<String, Option<i64>> = HashMap::new();
    let mut dag_open: HashMap<String, i64> = HashMap::new();
    let mut task_open: HashMap<(String, String), Option<i64>> = HashMap::new();
    let mut run_task_open: HashMap<(String, String, String), Option<i64>> = HashMap::new();
    let mut picked: Vec<Uuid> = Vec::new();
    for c in candidates {
        if picked.len() as i64 >= limit {
            break;
        }
        let pool = pool_open.entry(c.pool.clone()).or_insert(c.pool_open);
        let dag = dag_open.entry(c.dag_id.clone()).or_insert(c.dag_open);
        let task = task_open
            .entry((c.dag_id.clone(), c.task_id.clone()))
            .or_insert(c.task_open);
        let run_task = run_task_open
            .entry((c.dag_id.clone(), c.run_id.clone(), c.task_id.clone()))
            .or_insert(c.run_task_open);
        let slots = i64::from(c.pool_slots);
        if *dag < 1
            || pool.is_some_and(|open| open < slots)
            || task.is_some_and(|open| open < 1)
            || run_task.is_some_and(|open| open < 1)
        {
            continue;
        }
        *dag -= 1;
        for open in [pool.as_mut()].into_iter().flatten() {
            *open -= slots;
        }
        for open in [task.as_mut(), run_task.as_mut()].into_iter().flatten() {
            *open -= 1;
        }
        picked.push(c.id);
    }

    let mut queued: Vec<TiRow> = sqlx::query_as(
        "UPDATE task_instance SET state = 'queued', queued_at = $2, updated_at = now()
          WHERE id = ANY($1) AND state = 'scheduled'
         RETURNING *",
    )
    .bind(&picked)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    queued.sort_by_key(|ti| picked.iter().position(|id| *id == ti.id));
    Ok(queued)
}
