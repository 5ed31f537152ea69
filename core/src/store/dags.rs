//! The DAG table group: `dag`, `dag_tag`, `dag_code`, `dag_version`,
//! `serialized_dag` and `dag_warning`.
//!
//! Writes come in batches from the DAG processor: one statement per table per
//! batch (UNNEST), so storing a thousand files costs a handful of round trips.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::Result;
use crate::model::{ParseWarning, SerializedDag};

/// One parsed DAG, ready to store.
#[derive(Debug, Clone)]
pub struct DagUpsert {
    pub dag: SerializedDag,
    /// The serialized JSON text exactly as the parse child produced it.
    pub data: String,
    /// sha256 of `data`.
    pub dag_hash: String,
    pub relative_fileloc: String,
    pub source_hash: String,
    pub warnings: Vec<ParseWarning>,
}

/// Source text of a parsed file, stored once per content hash.
#[derive(Debug, Clone)]
pub struct DagSource {
    pub source_hash: String,
    pub fileloc: String,
    pub source_code: String,
}

/// What a batch changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StoreOutcome {
    pub dags_stored: usize,
    pub new_versions: usize,
}

/// Serialises concurrent writers of DAG versions (several processors may run):
/// version numbers are `max + 1`, which needs one writer at a time.
pub async fn lock_for_versioning(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('updraft.dag_versions'))")
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a batch of parsed DAGs: the `dag` rows (paused at creation as
/// configured), tags, source, a new version where the hash changed, the
/// current serialized DAG, and parse warnings. Call inside a transaction
/// after [`lock_for_versioning`].
pub async fn store_parsed(
    conn: &mut PgConnection,
    dags: &[DagUpsert],
    sources: &[DagSource],
    paused_at_creation: bool,
) -> Result<StoreOutcome> {
    if dags.is_empty() {
        return Ok(StoreOutcome::default());
    }
    upsert_sources(conn, sources).await?;
    upsert_dag_rows(conn, dags, paused_at_creation).await?;
    replace_tags(conn, dags).await?;
    let new_versions = add_changed_versions(conn, dags).await?;
    replace_warnings(conn, dags).await?;
    Ok(StoreOutcome {
        dags_stored: dags.len(),
        new_versions,
    })
}

async fn upsert_sources(conn: &mut PgConnection, sources: &[DagSource]) -> Result<()> {
    sqlx::query(
        "INSERT INTO dag_code (source_hash, fileloc, source_code)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[])
         ON CONFLICT (source_hash) DO NOTHING",
    )
    .bind(
        sources
            .iter()
            .map(|s| s.source_hash.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        sources
            .iter()
            .map(|s| s.fileloc.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        sources
            .iter()
            .map(|s| s.source_code.clone())
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn upsert_dag_rows(
    conn: &mut PgConnection,
    dags: &[DagUpsert],
    paused_at_creation: bool,
) -> Result<()> {
    let d = |f: fn(&DagUpsert) -> Option<String>| dags.iter().map(f).collect::<Vec<_>>();
    let schedules: Vec<String> = dags
        .iter()
        .map(|u| serde_json::to_string(&u.dag.schedule).unwrap_or_else(|_| "{}".into()))
        .collect();
    sqlx::query(
        "INSERT INTO dag (dag_id, fileloc, relative_fileloc, description, dag_display_name, owners,
                          schedule, schedule_summary, max_active_runs, max_active_tasks,
                          max_consecutive_failed_dag_runs, has_task_concurrency_limits,
                          is_paused, is_active, last_parsed_at)
         SELECT u.dag_id, u.fileloc, u.rel, u.description, u.display, u.owners,
                u.schedule::jsonb, u.summary, u.mar, u.mat, u.mcf, u.limits,
                COALESCE(u.paused, $14), true, now()
           FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::text[], $8::text[], $9::int4[], $10::int4[], $11::int4[], $12::bool[],
                       $13::bool[])
                AS u(dag_id, fileloc, rel, description, display, owners, schedule, summary,
                     mar, mat, mcf, limits, paused)
         ON CONFLICT (dag_id) DO UPDATE SET
             fileloc = EXCLUDED.fileloc,
             relative_fileloc = EXCLUDED.relative_fileloc,
             description = EXCLUDED.description,
             dag_display_name = EXCLUDED.dag_display_name,
             owners = EXCLUDED.owners,
             schedule = EXCLUDED.schedule,
             schedule_summary = EXCLUDED.schedule_summary,
             max_active_runs = EXCLUDED.max_active_runs,
             max_active_tasks = EXCLUDED.max_active_tasks,
             max_consecutive_failed_dag_runs = EXCLUDED.max_consecutive_failed_dag_runs,
             has_task_concurrency_limits = EXCLUDED.has_task_concurrency_limits,
             is_active = true,
             last_parsed_at = now()",
    )
    .bind(d(|u| Some(u.dag.dag_id.to_string())))
    .bind(d(|u| Some(u.dag.fileloc.clone())))
    .bind(d(|u| Some(u.relative_fileloc.clone())))
    .bind(d(|u| u.dag.description.clone()))
    .bind(d(|u| u.dag.dag_display_name.clone()))
    .bind(d(|u| {
        Some(u.dag.owner.clone().unwrap_or_else(|| "airflow".into()))
    }))
    .bind(schedules)
    .bind(d(|u| Some(u.dag.schedule.summary())))
    .bind(
        dags.iter()
            .map(|u| u.dag.max_active_runs)
            .collect::<Vec<_>>(),
    )
    .bind(
        dags.iter()
            .map(|u| u.dag.max_active_tasks)
            .collect::<Vec<_>>(),
    )
    .bind(
        dags.iter()
            .map(|u| u.dag.max_consecutive_failed_dag_runs.unwrap_or(0).max(0))
            .collect::<Vec<_>>(),
    )
    .bind(
        dags.iter()
            .map(|u| {
                u.dag.tasks.iter().any(|t| {
                    t.max_active_tis_per_dag.is_some() || t.max_active_tis_per_dagrun.is_some()
                })
            })
            .collect::<Vec<_>>(),
    )
    .bind(
        dags.iter()
            .map(|u| u.dag.is_paused_upon_creation)
            .collect::<Vec<_>>(),
    )
    .bind(paused_at_creation)
    .execute(conn)
    .await?;
    Ok(())
}

async fn replace_tags(conn: &mut PgConnection, dags: &[DagUpsert]) -> Result<()> {
    let ids: Vec<String> = dags.iter().map(|u| u.dag.dag_id.to_string()).collect();
    let (tag_dags, tag_names): (Vec<String>, Vec<String>) = dags
        .iter()
        .flat_map(|u| {
            u.dag
                .tags
                .iter()
                .map(move |t| (u.dag.dag_id.to_string(), t.clone()))
        })
        .unzip();
    sqlx::query("DELETE FROM dag_tag WHERE dag_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO dag_tag (dag_id, name) SELECT * FROM UNNEST($1::text[], $2::text[])
         ON CONFLICT DO NOTHING",
    )
    .bind(tag_dags)
    .bind(tag_names)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds a version for each DAG whose hash differs from its current one and
/// points `serialized_dag` at it. Returns how many versions were added.
async fn add_changed_versions(conn: &mut PgConnection, dags: &[DagUpsert]) -> Result<usize> {
    let ids: Vec<String> = dags.iter().map(|u| u.dag.dag_id.to_string()).collect();
    let current: HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
        "SELECT dag_id, dag_hash FROM serialized_dag WHERE dag_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let changed: Vec<&DagUpsert> = dags
        .iter()
        .filter(|u| current.get(u.dag.dag_id.as_str()) != Some(&u.dag_hash))
        .collect();
    if changed.is_empty() {
        return Ok(0);
    }
    let c = |f: fn(&DagUpsert) -> &str| changed.iter().map(|u| f(u)).collect::<Vec<&str>>();
    sqlx::query(
        "WITH new_version AS (
             INSERT INTO dag_version (dag_id, version_number, dag_hash, data, fileloc, source_hash)
             SELECT u.dag_id,
                    COALESCE((SELECT max(v.version_number) FROM dag_version v WHERE v.dag_id = u.dag_id), 0) + 1,
                    u.dag_hash, u.data::jsonb, u.fileloc, u.source_hash
               FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                    AS u(dag_id, dag_hash, data, fileloc, source_hash)
             RETURNING id, dag_id, dag_hash)
         INSERT INTO serialized_dag (dag_id, dag_version_id, dag_hash, updated_at)
         SELECT dag_id, id, dag_hash, now() FROM new_version
         ON CONFLICT (dag_id) DO UPDATE SET
             dag_version_id = EXCLUDED.dag_version_id,
             dag_hash = EXCLUDED.dag_hash,
             updated_at = now()",
    )
    .bind(c(|u| u.dag.dag_id.as_str()))
    .bind(c(|u| u.dag_hash.as_str()))
    .bind(c(|u| u.data.as_str()))
    .bind(c(|u| u.dag.fileloc.as_str()))
    .bind(c(|u| u.source_hash.as_str()))
    .execute(conn)
    .await?;
    Ok(changed.len())
}

async fn replace_warnings(conn: &mut PgConnection, dags: &[DagUpsert]) -> Result<()> {
    let ids: Vec<String> = dags.iter().map(|u| u.dag.dag_id.to_string()).collect();
    sqlx::query("DELETE FROM dag_warning WHERE dag_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    let warnings: Vec<(String, &ParseWarning)> = dags
        .iter()
        .flat_map(|u| {
            u.warnings
                .iter()
                .map(move |w| (u.dag.dag_id.to_string(), w))
        })
        .collect();
    if warnings.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO dag_warning (dag_id, warning_type, task_id, message)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT DO NOTHING",
    )
    .bind(warnings.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>())
    .bind(
        warnings
            .iter()
            .map(|(_, w)| w.kind.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        warnings
            .iter()
            .map(|(_, w)| w.task_id.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
    )
    .bind(
        warnings
            .iter()
            .map(|(_, w)| w.message.clone())
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deactivates the DAGs of `filelocs` that are not in `keep`: their file no
/// longer defines them (or is gone). Returns the deactivated ids.
pub async fn deactivate_missing(
    conn: &mut PgConnection,
    filelocs: &[String],
    keep: &[String],
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "UPDATE dag SET is_active = false
          WHERE fileloc = ANY($1) AND NOT (dag_id = ANY($2)) AND is_active
          RETURNING dag_id",
    )
    .bind(filelocs)
    .bind(keep)
    .fetch_all(conn)
    .await?)
}

/// Which file currently owns each of these (active) DAG ids.
pub async fn active_owners(
    conn: &mut PgConnection,
    dag_ids: &[String],
) -> Result<HashMap<String, String>> {
    Ok(sqlx::query_as::<_, (String, String)>(
        "SELECT dag_id, fileloc FROM dag WHERE dag_id = ANY($1) AND is_active",
    )
    .bind(dag_ids)
    .fetch_all(conn)
    .await?
    .into_iter()
    .collect())
}

/// A row of `dags list`.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct DagSummary {
    pub dag_id: String,
    pub fileloc: String,
    pub owners: String,
    pub is_paused: bool,
    pub is_active: bool,
    pub schedule_summary: Option<String>,
    pub tags: Vec<String>,
    pub last_parsed_at: DateTime<Utc>,
    pub version: Option<i32>,
}

/// Active DAGs, by id (`dags list`).
pub async fn list(pool: &PgPool) -> Result<Vec<DagSummary>> {
    Ok(sqlx::query_as(
        "SELECT d.dag_id, d.fileloc, d.owners, d.is_paused, d.is_active, d.schedule_summary,
                COALESCE(array_agg(t.name ORDER BY t.name) FILTER (WHERE t.name IS NOT NULL), '{}') AS tags,
                d.last_parsed_at, v.version_number AS version
           FROM dag d
           LEFT JOIN dag_tag t ON t.dag_id = d.dag_id
           LEFT JOIN serialized_dag s ON s.dag_id = d.dag_id
           LEFT JOIN dag_version v ON v.id = s.dag_version_id
          WHERE d.is_active
          GROUP BY d.dag_id, v.version_number
          ORDER BY d.dag_id",
    )
    .fetch_all(pool)
    .await?)
}

/// The current serialized DAG, verbatim.
pub async fn serialized(pool: &PgPool, dag_id: &str) -> Result<Option<Value>> {
    Ok(sqlx::query_scalar(
        "SELECT v.data FROM serialized_dag s JOIN dag_version v ON v.id = s.dag_version_id
          WHERE s.dag_id = $1",
    )
    .bind(dag_id)
    .fetch_optional(pool)
    .await?)
}

/// One stored version of a serialized DAG (`None`: no such version).
pub async fn version_data(pool: &PgPool, version_id: i64) -> Result<Option<Value>> {
    Ok(
        sqlx::query_scalar("SELECT data FROM dag_version WHERE id = $1")
            .bind(version_id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Version numbers stored for a DAG, oldest first.
pub async fn versions(pool: &PgPool, dag_id: &str) -> Result<Vec<(i32, String)>> {
    Ok(sqlx::query_as(
        "SELECT version_number, dag_hash FROM dag_version WHERE dag_id = $1 ORDER BY version_number",
    )
    .bind(dag_id)
    .fetch_all(pool)
    .await?)
}

/// A parse-time warning (Airflow's `dag_warning`), e.g. an `xcom_pull` of a
/// task id the DAG does not have.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct DagWarningRow {
    pub dag_id: String,
    pub warning_type: String,
    pub task_id: String,
    pub message: String,
}

/// Warnings of the active DAGs.
pub async fn all_warnings(pool: &PgPool) -> Result<Vec<DagWarningRow>> {
    Ok(sqlx::query_as(
        "SELECT w.dag_id, w.warning_type, w.task_id, w.message
           FROM dag_warning w JOIN dag d ON d.dag_id = w.dag_id AND d.is_active
          ORDER BY w.dag_id, w.task_id, w.message",
    )
    .fetch_all(pool)
    .await?)
}

/// Parse-time warnings of a DAG.
pub async fn warnings(pool: &PgPool, dag_id: &str) -> Result<Vec<(String, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT warning_type, task_id, message FROM dag_warning WHERE dag_id = $1
          ORDER BY warning_type, task_id, message",
    )
    .bind(dag_id)
    .fetch_all(pool)
    .await?)
}
