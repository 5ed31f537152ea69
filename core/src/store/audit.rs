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
