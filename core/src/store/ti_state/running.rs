//! A try on a worker: claimed under a lease, kept alive by heartbeats, ended
//! by the fenced final write or a reschedule, or reaped when its lease runs
//! out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Fence, FinishOutcome, TiRow, Transition, refusal};
use crate::model::state::TaskInstanceState;
use crate::{Error, Result};

/// `queued` → `running` for up to `limit` TIs of the given queues (no
/// queues: every queue, as Airflow's LocalExecutor ignores them), by
/// priority: the try counted when it was scheduled, owned by `worker_id` until
/// `now() + lease`. The worker must be registered and running.
pub async fn claim(
    conn: &mut PgConnection,
    worker_id: Uuid,
    queues: &[String],
    limit: i64,
    lease: Duration,
) -> Result<Vec<TiRow>> {
    let claimed: Vec<TiRow> = sqlx::query_as(
        "UPDATE task_instance t
            SET state = 'running', worker_id = w.id,
                hostname = w.hostname, pid = NULL,
                lease_expires_at = now() + make_interval(secs => $4), last_heartbeat_at = now(),
                start_date = now(), end_date = NULL, duration = NULL, next_retry_at = NULL,
                updated_at = now()
           FROM (SELECT id FROM task_instance
                  WHERE state = 'queued' AND (cardinality($2::text[]) = 0 OR queue = ANY($2))
                  ORDER BY priority_weight DESC, queued_at, id
                  LIMIT $3 FOR UPDATE SKIP LOCKED) c,
                worker w
          WHERE t.id = c.id AND t.state = 'queued' AND w.id = $1 AND w.state = 'running'
         RETURNING t.*",
    )
    .bind(worker_id)
    .bind(queues)
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(&mut *conn)
    .await?;
    if claimed.is_empty() {
        let alive: Option<bool> =
            sqlx::query_scalar("SELECT state = 'running' FROM worker WHERE id = $1")
                .bind(worker_id)
                .fetch_optional(&mut *conn)
                .await?;
        if alive != Some(true) {
            return Err(Error::NotFound(format!("running worker {worker_id}")));
        }
    }
    Ok(claimed)
}

/// Extends the lease of a running try to `now() + lease`, only for its own
/// worker and try. Applied: the new expiry.
pub async fn heartbeat(
    conn: &mut PgConnection,
    fence: Fence,
    lease: Duration,
) -> Result<Transition<DateTime<Utc>>> {
    let expires: Option<DateTime<Utc>> = sqlx::query_scalar(
        "UPDATE task_instance
            SET lease_expires_at = now() + make_interval(secs => $4), last_heartbeat_at = now(),
                updated_at = now()
          WHERE id = $1 AND state = 'running' AND worker_id = $2 AND try_number = $3
         RETURNING lease_expires_at",
    )
    .bind(fence.ti_id)
    .bind(fence.worker_id)
    .bind(fence.try_number)
    .bind(lease.as_secs_f64())
    .fetch_optional(&mut *conn)
    .await?;
    match expires {
        Some(at) => Ok(Transition::Applied(at)),
        None => refusal(conn, fence.ti_id).await,
    }
}

/// The fenced final write of a try: only while it is `running` and owned by
/// this worker and try, so a worker whose lease was reaped cannot overwrite
/// what happened since. Writes `end_date`, `duration` and the try's history
/// row in the same statement.
pub async fn finish(
    conn: &mut PgConnection,
    fence: Fence,
    outcome: FinishOutcome,
) -> Result<Transition<TiRow>> {
    let (state, next_retry_at) = match outcome {
        FinishOutcome::Success => (TaskInstanceState::Success, None),
        FinishOutcome::Failed => (TaskInstanceState::Failed, None),
        FinishOutcome::Skipped => (TaskInstanceState::Skipped, None),
        FinishOutcome::UpForRetry { next_retry_at } => {
            (TaskInstanceState::UpForRetry, Some(next_retry_at))
        }
    };
    let row: Option<TiRow> = sqlx::query_as(
        "WITH done AS (
             UPDATE task_instance
                SET state = CASE WHEN $4::text = 'up_for_retry' AND try_number > max_tries
                                 THEN 'failed' ELSE $4::text END,
                    next_retry_at = CASE WHEN try_number <= max_tries THEN $5::timestamptz END,
                    end_date = now(),
                    duration = GREATEST(EXTRACT(EPOCH FROM now() - start_date)::float8, 0),
                    lease_expires_at = NULL, updated_at = now()
              WHERE id = $1 AND state = 'running' AND worker_id = $2 AND try_number = $3
             RETURNING *),
         history AS (
             INSERT INTO task_instance_history (ti_id, try_number, state, operator, hostname,
                         worker_id, start_date, end_date, duration, rendered_fields)
             SELECT id, try_number, state, operator, hostname, worker_id, start_date, end_date,
                    duration, rendered_fields FROM done)
         SELECT * FROM done",
    )
    .bind(fence.ti_id)
    .bind(fence.worker_id)
    .bind(fence.try_number)
    .bind(state.as_str())
    .bind(next_retry_at)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Transition::Applied(row)),
        None => refusal(conn, fence.ti_id).await,
    }
}

/// A sensor in reschedule mode gives its slot back: `running` →
/// `up_for_reschedule` until `at`, fenced like [`finish`], with a
/// `task_reschedule` row. The try is not over (no history row), and the
/// next [`set_scheduled`] goes on with the same try number.
pub async fn reschedule(
    conn: &mut PgConnection,
    fence: Fence,
    at: DateTime<Utc>,
) -> Result<Transition<TiRow>> {
    let row: Option<TiRow> = sqlx::query_as(
        "WITH done AS (
             UPDATE task_instance
                SET state = 'up_for_reschedule', next_retry_at = $4, end_date = now(),
                    duration = GREATEST(EXTRACT(EPOCH FROM now() - start_date)::float8, 0),
                    lease_expires_at = NULL, updated_at = now()
              WHERE id = $1 AND state = 'running' AND worker_id = $2 AND try_number = $3
             RETURNING *),
         logged AS (
             INSERT INTO task_reschedule (ti_id, try_number, start_date, end_date, reschedule_date)
             SELECT id, try_number, start_date, end_date, $4 FROM done)
         SELECT * FROM done",
    )
    .bind(fence.ti_id)
    .bind(fence.worker_id)
    .bind(fence.try_number)
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Transition::Applied(row)),
        None => refusal(conn, fence.ti_id).await,
    }
}

/// When the first poke of the current try started (its earliest
/// `task_reschedule` row), for a sensor's timeout across reschedules.
pub async fn first_poke_of_try(
    conn: &mut PgConnection,
    ti_id: Uuid,
    try_number: i32,
) -> Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "SELECT min(start_date) FROM task_reschedule WHERE ti_id = $1 AND try_number = $2",
    )
    .bind(ti_id)
    .bind(try_number)
    .fetch_one(conn)
    .await?)
}

/// Zombies: running tries whose lease ended before `now` become
/// `up_for_retry` while `try_number <= max_tries`, else `failed`; each with
/// its history row. The next try waits the task's own retry delay (doubled
/// per try with exponential backoff, capped by `max_retry_delay`, as the
/// worker computes it), or `retry_delay` for rows that have none. At most
/// `limit`, oldest lease first.
pub async fn reap_expired_leases(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    retry_delay: Duration,
    limit: i64,
) -> Result<Vec<TiRow>> {
    Ok(sqlx::query_as(
        "WITH reaped AS (
             UPDATE task_instance t
                SET state = CASE WHEN t.try_number <= t.max_tries
                                 THEN 'up_for_retry' ELSE 'failed' END,
                    next_retry_at = CASE WHEN t.try_number <= t.max_tries
                                         THEN $1 + make_interval(secs => CASE
                                             WHEN t.retry_exponential_backoff
                                             THEN LEAST(COALESCE(t.retry_delay, $2)
                                                          * power(2, LEAST(GREATEST(t.try_number - 1, 0), 30)),
                                                        COALESCE(t.max_retry_delay, 86400))
                                             ELSE COALESCE(t.retry_delay, $2) END) END,
                    end_date = $1,
                    duration = GREATEST(EXTRACT(EPOCH FROM $1 - t.start_date)::float8, 0),
                    lease_expires_at = NULL, updated_at = now()
               FROM (SELECT id FROM task_instance WHERE state = 'running' AND lease_expires_at < $1
                      ORDER BY lease_expires_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) c
              WHERE t.id = c.id AND t.state = 'running' AND t.lease_expires_at < $1
             RETURNING t.*),
         history AS (
             INSERT INTO task_instance_history (ti_id, try_number, state, operator, hostname,
                         worker_id, start_date, end_date, duration, rendered_fields, error)
             SELECT id, try_number, state, operator, hostname, worker_id, start_date, end_date,
                    duration, rendered_fields, 'lease expired without a heartbeat' FROM reaped)
         SELECT * FROM reaped ORDER BY end_date, id",
    )
    .bind(now)
    .bind(retry_delay.as_secs_f64())
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// `dags test`: `scheduled` (or `queued`, should a scheduler process have
/// queued it meanwhile) → `running` for the task instances of one run,
/// owned by `worker_id` for `lease`, without the queue (no pools, no
/// `max_active_tasks`, paused DAGs too), as Airflow's `dag.test()` runs them
/// in its own process. By priority, like [`claim`].
pub async fn claim_in_run(
    conn: &mut PgConnection,
    worker_id: Uuid,
    dag_id: &str,
    run_id: &str,
    lease: Duration,
) -> Result<Vec<TiRow>> {
    Ok(sqlx::query_as(
        "UPDATE task_instance t
            SET state = 'running', worker_id = w.id, hostname = w.hostname, pid = NULL,
                lease_expires_at = now() + make_interval(secs => $4), last_heartbeat_at = now(),
                queued_at = now(), start_date = now(), end_date = NULL, duration = NULL,
                next_retry_at = NULL, updated_at = now()
           FROM (SELECT id FROM task_instance
                  WHERE dag_id = $2 AND run_id = $3 AND state IN ('scheduled', 'queued')
                  ORDER BY priority_weight DESC, task_id, map_index, id
                  FOR UPDATE SKIP LOCKED) c,
                worker w
          WHERE t.id = c.id AND t.state IN ('scheduled', 'queued')
            AND w.id = $1 AND w.state = 'running'
         RETURNING t.*",
    )
    .bind(worker_id)
    .bind(dag_id)
    .bind(run_id)
    .bind(lease.as_secs_f64())
    .fetch_all(conn)
    .await?)
}

/// `tasks test`: one task instance that has not started (no state, or
/// `scheduled`) → `running` at once, ignoring its dependencies, its try
/// counted, owned by `worker_id` for `lease`.
pub async fn claim_one_for_test(
    conn: &mut PgConnection,
    ti_id: Uuid,
    worker_id: Uuid,
    lease: Duration,
) -> Result<Transition<TiRow>> {
    let row: Option<TiRow> = sqlx::query_as(
        "UPDATE task_instance t
            SET state = 'running', try_number = t.try_number + 1, worker_id = w.id,
                hostname = w.hostname, pid = NULL,
                lease_expires_at = now() + make_interval(secs => $3), last_heartbeat_at = now(),
                queued_at = now(), start_date = now(), end_date = NULL, duration = NULL,
                next_retry_at = NULL, updated_at = now()
           FROM worker w
          WHERE t.id = $1 AND (t.state IS NULL OR t.state = 'scheduled')
            AND w.id = $2 AND w.state = 'running'
         RETURNING t.*",
    )
    .bind(ti_id)
    .bind(worker_id)
    .bind(lease.as_secs_f64())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Transition::Applied(row)),
        None => refusal(conn, ti_id).await,
    }
}
