//! `audit_log`: the one function that records a state change made by a
//! person (who, when, what). Call it in the change's own transaction.

use sqlx::PgConnection;

use crate::Result;

/// One audit row.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub event: &'a str,
    /// The username, or `cli`, `scheduler`.
    pub owner: &'a str,
    pub dag_id: Option<&'a str>,
    pub extra: serde_json::Value,
}

pub async fn record(conn: &mut PgConnection, entry: &AuditEntry<'_>) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (event, owner, dag_id, extra) VALUES ($1, $2, $3, $4)")
        .bind(entry.event)
        .bind(entry.owner)
        .bind(entry.dag_id)
        .bind(&entry.extra)
        .execute(conn)
        .await?;
    Ok(())
}

/// An audit row as the audit log page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub dttm: chrono::DateTime<chrono::Utc>,
    pub event: String,
    pub owner: Option<String>,
    pub dag_id: Option<String>,
    pub run_id: Option<String>,
    pub task_id: Option<String>,
    pub map_index: Option<i32>,
    pub try_number: Option<i32>,
    pub extra: serde_json::Value,
}

/// Which audit rows to list: each given field must match exactly.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub dag_id: Option<String>,
    pub event: Option<String>,
    pub owner: Option<String>,
}

/// The rows matching `filter`, newest first, `limit` of them after
/// skipping `offset`.
pub async fn list(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(
        "SELECT id, dttm, event, owner, dag_id, run_id, task_id, map_index, try_number, extra
           FROM audit_log
          WHERE ($1::text IS NULL OR dag_id = $1)
            AND ($2::text IS NULL OR event = $2)
            AND ($3::text IS NULL OR owner = $3)
          ORDER BY dttm DESC, id DESC
          LIMIT $4 OFFSET $5",
    )
    .bind(&filter.dag_id)
    .bind(&filter.event)
    .bind(&filter.owner)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?)
}
