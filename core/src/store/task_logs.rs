//! `task_log`: a try's output in numbered chunks, appended while the task
//! runs so that any reader (CLI, webserver) sees the log before the task ends.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

/// Appends chunk `seq` of a try. A chunk with the same `seq` is left as it is
/// (a retried write after a lost acknowledgement must not duplicate lines).
pub async fn append(
    conn: &mut PgConnection,
    ti_id: Uuid,
    try_number: i32,
    seq: i32,
    content: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO task_log (ti_id, try_number, seq, content) VALUES ($1, $2, $3, $4)
         ON CONFLICT (ti_id, try_number, seq) DO NOTHING",
    )
    .bind(ti_id)
    .bind(try_number)
    .bind(seq)
    .bind(content)
    .execute(conn)
    .await?;
    Ok(())
}

/// The number of the next chunk of a try: a try that goes on after a
/// deferral or a reschedule (same try number) appends after what it wrote
/// before, instead of colliding with it.
pub async fn next_seq(conn: &mut PgConnection, ti_id: Uuid, try_number: i32) -> Result<i32> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(max(seq) + 1, 0) FROM task_log WHERE ti_id = $1 AND try_number = $2",
    )
    .bind(ti_id)
    .bind(try_number)
    .fetch_one(conn)
    .await?)
}

/// The log of one try so far, its chunks joined in order.
pub async fn read(conn: &mut PgConnection, ti_id: Uuid, try_number: i32) -> Result<String> {
    let chunks: Vec<String> = sqlx::query_scalar(
        "SELECT content FROM task_log WHERE ti_id = $1 AND try_number = $2 ORDER BY seq",
    )
    .bind(ti_id)
    .bind(try_number)
    .fetch_all(conn)
    .await?;
    Ok(chunks.concat())
}

/// The chunks of one try numbered above `after` (`-1`: all), in order: what
/// a live tail fetches since its last poll.
pub async fn chunks_after(
    conn: &mut PgConnection,
    ti_id: Uuid,
    try_number: i32,
    after: i32,
) -> Result<Vec<(i32, String)>> {
    Ok(sqlx::query_as(
        "SELECT seq, content FROM task_log
          WHERE ti_id = $1 AND try_number = $2 AND seq > $3 ORDER BY seq",
    )
    .bind(ti_id)
    .bind(try_number)
    .bind(after)
    .fetch_all(conn)
    .await?)
}
