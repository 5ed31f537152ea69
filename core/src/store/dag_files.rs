//! `dag_file`: what the DAG processor knows of each file in the dags folder.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::Result;

/// A file as last parsed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DagFileRow {
    pub fileloc: String,
    pub content_hash: String,
    pub is_present: bool,
}

/// Every file the processor has recorded (present or gone).
pub async fn list(conn: &mut PgConnection) -> Result<Vec<DagFileRow>> {
    Ok(
        sqlx::query_as("SELECT fileloc, content_hash, is_present FROM dag_file ORDER BY fileloc")
            .fetch_all(conn)
            .await?,
    )
}

/// One parsed file's bookkeeping.
#[derive(Debug, Clone)]
pub struct DagFileRecord {
    pub fileloc: String,
    pub relative_fileloc: String,
    pub content_hash: String,
    pub mtime: Option<DateTime<Utc>>,
    pub size_bytes: i64,
    pub parse_duration_ms: f64,
    pub dag_count: i32,
}

/// Records (or refreshes) parsed files, in one statement.
pub async fn upsert_many(conn: &mut PgConnection, files: &[DagFileRecord]) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&DagFileRecord) -> String| files.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO dag_file (fileloc, relative_fileloc, content_hash, mtime, size_bytes,
                               parse_duration_ms, dag_count, last_parsed_at, is_present)
         SELECT u.*, now(), true
           FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::int8[],
                       $6::float8[], $7::int4[]) AS u
         ON CONFLICT (fileloc) DO UPDATE SET
             relative_fileloc = EXCLUDED.relative_fileloc,
             content_hash = EXCLUDED.content_hash,
             mtime = EXCLUDED.mtime,
             size_bytes = EXCLUDED.size_bytes,
             parse_duration_ms = EXCLUDED.parse_duration_ms,
             dag_count = EXCLUDED.dag_count,
             last_parsed_at = now(),
             is_present = true",
    )
    .bind(col(|f| f.fileloc.clone()))
    .bind(col(|f| f.relative_fileloc.clone()))
    .bind(col(|f| f.content_hash.clone()))
    .bind(files.iter().map(|f| f.mtime).collect::<Vec<_>>())
    .bind(files.iter().map(|f| f.size_bytes).collect::<Vec<_>>())
    .bind(
        files
            .iter()
            .map(|f| f.parse_duration_ms)
            .collect::<Vec<_>>(),
    )
    .bind(files.iter().map(|f| f.dag_count).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks files gone from the folder; returns how many changed.
pub async fn mark_absent(conn: &mut PgConnection, filelocs: &[String]) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE dag_file SET is_present = false WHERE fileloc = ANY($1) AND is_present",
    )
    .bind(filelocs)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
