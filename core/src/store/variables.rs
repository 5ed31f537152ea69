//! `variable`: key/value settings templates read (`var.value.x`, `var.json.x`)
//! and people manage (`updraft variables …`).

use sqlx::PgConnection;

use crate::Result;

/// Every Variable, `(key, val)`. Values are plain text today (`is_encrypted`
/// is not honoured yet: encryption is later work).
pub async fn all(conn: &mut PgConnection) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT key, val FROM variable ORDER BY key")
        .fetch_all(conn)
        .await?)
}

/// A Variable as people see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct VariableRow {
    pub key: String,
    pub val: String,
    pub description: Option<String>,
}

/// One Variable by key.
pub async fn get(conn: &mut PgConnection, key: &str) -> Result<Option<VariableRow>> {
    Ok(
        sqlx::query_as("SELECT key, val, description FROM variable WHERE key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await?,
    )
}

/// Every Variable with its description, by key.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<VariableRow>> {
    Ok(
        sqlx::query_as("SELECT key, val, description FROM variable ORDER BY key")
            .fetch_all(conn)
            .await?,
    )
}

/// Creates or replaces a Variable (Airflow's `Variable.set`). A `None`
/// description keeps the one stored. `true`: it was created.
pub async fn set(
    conn: &mut PgConnection,
    key: &str,
    val: &str,
    description: Option<&str>,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "INSERT INTO variable (key, val, description) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE
            SET val = EXCLUDED.val,
                description = COALESCE(EXCLUDED.description, variable.description),
                updated_at = now()
         RETURNING (xmax = 0)",
    )
    .bind(key)
    .bind(val)
    .bind(description)
    .fetch_one(conn)
    .await?)
}

/// Deletes a Variable. `false`: there was none.
pub async fn delete(conn: &mut PgConnection, key: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM variable WHERE key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
