//! `import_error`: one row per DAG file that failed to parse.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::Result;
use crate::model::ParseError;

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ImportErrorRow {
    pub id: i64,
    pub filename: String,
    pub kind: String,
    pub message: String,
    pub line: Option<i32>,
    pub stacktrace: String,
    pub created_at: DateTime<Utc>,
}

/// Records the error of each failed file, replacing an older one.
pub async fn upsert_many(conn: &mut PgConnection, errors: &[(String, ParseError)]) -> Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO import_error (filename, kind, message, line, stacktrace, created_at)
         SELECT u.*, now() FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int4[], $5::text[]) AS u
         ON CONFLICT (filename) DO UPDATE SET
             kind = EXCLUDED.kind, message = EXCLUDED.message, line = EXCLUDED.line,
             stacktrace = EXCLUDED.stacktrace, created_at = now()",
    )
    .bind(errors.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>())
    .bind(errors.iter().map(|(_, e)| e.kind.as_str().to_owned()).collect::<Vec<_>>())
    .bind(errors.iter().map(|(_, e)| e.message.clone()).collect::<Vec<_>>())
    .bind(errors.iter().map(|(_, e)| e.line.filter(|l| *l > 0)).collect::<Vec<_>>())
    .bind(errors.iter().map(|(_, e)| e.traceback.clone()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Clears the errors of files that now parse (or are gone).
pub async fn clear(conn: &mut PgConnection, filenames: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM import_error WHERE filename = ANY($1)")
        .bind(filenames)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn list(pool: &PgPool) -> Result<Vec<ImportErrorRow>> {
    Ok(sqlx::query_as(
        "SELECT id, filename, kind, message, line, stacktrace, created_at
           FROM import_error ORDER BY filename",
    )
    .fetch_all(pool)
    .await?)
}

/// One import error by id.
pub async fn get(pool: &PgPool, id: i64) -> Result<Option<ImportErrorRow>> {
    Ok(sqlx::query_as(
        "SELECT id, filename, kind, message, line, stacktrace, created_at
           FROM import_error WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}
