//! `pool`: named slot limits for task instances.

use sqlx::PgConnection;

use crate::Result;

/// The names of all pools.
pub async fn names(conn: &mut PgConnection) -> Result<std::collections::HashSet<String>> {
    Ok(sqlx::query_scalar("SELECT pool FROM pool")
        .fetch_all(conn)
        .await?
        .into_iter()
        .collect())
}
