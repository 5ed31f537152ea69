//! Reading and placing task instances of one run straight in the database,
//! as the worker tests need (queue a task for `worker --once`, read back its
//! state, XCom and log).

use serde_json::Value;
use sqlx::PgPool;

/// One DAG run.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub dag_id: &'a str,
    pub run_id: &'a str,
}

impl Run<'_> {
    /// Puts `task_id` in `queued` with `max_tries` (creating the row when the
    /// trigger did not; a new try when it already ran).
    pub async fn queue(&self, pool: &PgPool, task_id: &str, max_tries: i32) {
        sqlx::query(
            "INSERT INTO task_instance (id, dag_id, run_id, task_id, state, max_tries, queued_at,
                                        try_number)
             VALUES (gen_random_uuid(), $1, $2, $3, 'queued', $4, now(), 1)
             ON CONFLICT (dag_id, run_id, task_id, map_index)
             DO UPDATE SET state = 'queued', max_tries = $4, queued_at = now(),
                           try_number = task_instance.try_number + 1",
        )
        .bind(self.dag_id)
        .bind(self.run_id)
        .bind(task_id)
        .bind(max_tries)
        .execute(pool)
        .await
        .expect("queue task instance");
    }

    pub async fn state(&self, pool: &PgPool, task_id: &str) -> Option<String> {
        sqlx::query_scalar(
            "SELECT state FROM task_instance WHERE dag_id = $1 AND run_id = $2 AND task_id = $3",
        )
        .bind(self.dag_id)
        .bind(self.run_id)
        .bind(task_id)
        .fetch_one(pool)
        .await
        .expect("task instance")
    }

    /// The log of every try of `task_id` (`latest_only`: of its latest try).
    pub async fn log(&self, pool: &PgPool, task_id: &str, latest_only: bool) -> String {
        let chunks: Vec<String> = sqlx::query_scalar(
            "SELECT l.content FROM task_log l JOIN task_instance t ON t.id = l.ti_id
              WHERE t.dag_id = $1 AND t.run_id = $2 AND t.task_id = $3
                AND (NOT $4 OR l.try_number = t.try_number)
              ORDER BY l.try_number, l.seq",
        )
        .bind(self.dag_id)
        .bind(self.run_id)
        .bind(task_id)
        .bind(latest_only)
        .fetch_all(pool)
        .await
        .expect("log");
        chunks.concat()
    }

    pub async fn xcom(&self, pool: &PgPool, task_id: &str, key: &str) -> Option<Value> {
        sqlx::query_scalar(
            "SELECT value FROM xcom WHERE dag_id = $1 AND run_id = $2 AND task_id = $3
                AND key = $4",
        )
        .bind(self.dag_id)
        .bind(self.run_id)
        .bind(task_id)
        .bind(key)
        .fetch_optional(pool)
        .await
        .expect("xcom")
    }
}
