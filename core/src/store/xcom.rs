//! `xcom`: values tasks pass to each other, one row per
//! (dag_id, run_id, task_id, map_index, key).

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

/// The key of a task's return value.
pub const RETURN_VALUE: &str = "return_value";

/// Where an XCom row lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XComRef<'a> {
    pub dag_id: &'a str,
    pub run_id: &'a str,
    pub task_id: &'a str,
    pub map_index: i32,
    pub key: &'a str,
}

/// One stored XCom of a run.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct XComRow {
    pub task_id: String,
    pub map_index: i32,
    pub key: String,
    pub value: Option<Value>,
}

/// Writes (or replaces) an XCom pushed by task instance `ti_id`.
pub async fn set(
    conn: &mut PgConnection,
    ti_id: Uuid,
    at: &XComRef<'_>,
    value: &Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO xcom (ti_id, dag_id, run_id, task_id, map_index, key, value)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (dag_id, run_id, task_id, map_index, key)
         DO UPDATE SET ti_id = EXCLUDED.ti_id, value = EXCLUDED.value, created_at = now()",
    )
    .bind(ti_id)
    .bind(at.dag_id)
    .bind(at.run_id)
    .bind(at.task_id)
    .bind(at.map_index)
    .bind(at.key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

/// One XCom's value: `None` when there is no row; `Some(Value::Null)` for a
/// pushed `None`.
pub async fn get(conn: &mut PgConnection, at: &XComRef<'_>) -> Result<Option<Value>> {
    let row: Option<Option<Value>> = sqlx::query_scalar(
        "SELECT value FROM xcom
          WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND key = $5",
    )
    .bind(at.dag_id)
    .bind(at.run_id)
    .bind(at.task_id)
    .bind(at.map_index)
    .bind(at.key)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Option::unwrap_or_default))
}

/// Every XCom of a run, by task, map index and key.
pub async fn list_for_run(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
) -> Result<Vec<XComRow>> {
    Ok(sqlx::query_as(
        "SELECT task_id, map_index, key, value FROM xcom
          WHERE dag_id = $1 AND run_id = $2 ORDER BY task_id, map_index, key",
    )
    .bind(dag_id)
    .bind(run_id)
    .fetch_all(conn)
    .await?)
}

/// What pulling `(task_id, key)` in a run gives, as Airflow's `xcom_pull` /
/// XComArg resolution does: the value of an unmapped task, or the values of
/// a mapped task's task instances as a list by map index. `None`: nothing
/// was pushed.
pub fn pulled(rows: &[XComRow], task_id: &str, key: &str) -> Option<Value> {
    let mut mine: Vec<&XComRow> = rows
        .iter()
        .filter(|r| r.task_id == task_id && r.key == key)
        .collect();
    match mine.as_slice() {
        [] => None,
        [one] if one.map_index == -1 => Some(one.value.clone().unwrap_or_default()),
        _ => {
            mine.retain(|r| r.map_index >= 0);
            mine.sort_by_key(|r| r.map_index);
            Some(Value::Array(
                mine.into_iter()
                    .map(|r| r.value.clone().unwrap_or_default())
                    .collect(),
            ))
        }
    }
}

/// Removes a try's earlier XComs before it runs again (Airflow clears a task
/// instance's XComs when a new try starts).
pub async fn clear_for_ti(conn: &mut PgConnection, ti_id: Uuid) -> Result<u64> {
    let done = sqlx::query("DELETE FROM xcom WHERE ti_id = $1")
        .bind(ti_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The XComs pushed by one task instance, by key.
pub async fn list_for_ti(
    conn: &mut PgConnection,
    ti_id: Uuid,
) -> Result<Vec<(String, Option<Value>)>> {
    Ok(
        sqlx::query_as("SELECT key, value FROM xcom WHERE ti_id = $1 ORDER BY key")
            .bind(ti_id)
            .fetch_all(conn)
            .await?,
    )
}

/// An XCom of one task instance as the REST API lists it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct XComEntry {
    pub key: String,
    pub value: Option<Value>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The XComs pushed by one task instance with when they were written, by
/// key; only `key` when given.
pub async fn entries_for_ti(
    conn: &mut PgConnection,
    ti_id: Uuid,
    key: Option<&str>,
) -> Result<Vec<XComEntry>> {
    Ok(sqlx::query_as(
        "SELECT key, value, created_at FROM xcom
          WHERE ti_id = $1 AND ($2::text IS NULL OR key = $2) ORDER BY key",
    )
    .bind(ti_id)
    .bind(key)
    .fetch_all(conn)
    .await?)
}
