//! `kafka_delivery`: which of a produce task's messages the broker
//! acknowledged, as ranges of message numbers, so that a retry skips them
//! (migrations/0006). Clearing the task instance deletes them
//! (`ti_state::manual::clear`).

use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

/// Every range delivered by any try of task instance `ti_id`.
pub async fn delivered(conn: &mut PgConnection, ti_id: Uuid) -> Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT first_seq, last_seq FROM kafka_delivery WHERE ti_id = $1 ORDER BY first_seq",
    )
    .bind(ti_id)
    .fetch_all(conn)
    .await?)
}

/// Records ranges delivered by try `try_number`. A range already recorded
/// (same start) is widened, never narrowed.
pub async fn record(
    conn: &mut PgConnection,
    ti_id: Uuid,
    try_number: i32,
    topic: &str,
    ranges: &[(i64, i64)],
) -> Result<()> {
    if ranges.is_empty() {
        return Ok(());
    }
    let (firsts, lasts): (Vec<i64>, Vec<i64>) = ranges.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO kafka_delivery (ti_id, first_seq, last_seq, try_number, topic)
         SELECT $1, f, l, $3, $4 FROM UNNEST($2::int8[], $5::int8[]) AS r(f, l)
         ON CONFLICT (ti_id, first_seq) DO UPDATE
            SET last_seq = GREATEST(kafka_delivery.last_seq, EXCLUDED.last_seq),
                recorded_at = now()",
    )
    .bind(ti_id)
    .bind(&firsts)
    .bind(try_number)
    .bind(topic)
    .bind(&lasts)
    .execute(conn)
    .await?;
    Ok(())
}
