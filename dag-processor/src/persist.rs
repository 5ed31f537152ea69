//! Storing a batch of parse results in one transaction: DAGs and their
//! versions, import errors, file bookkeeping, and deactivation of DAGs a file
//! no longer defines.

use std::collections::HashMap;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection, PgPool};
use updraft_core::model::{ParseError, ParseErrorKind, ParseResult, ParseWarning, SerializedDag};
use updraft_core::store::dag_files::{self, DagFileRecord};
use updraft_core::store::dags::{self, DagSource, DagUpsert};
use updraft_core::store::{import_errors, pools};

/// A file as scanned, with its parse result.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub fileloc: String,
    pub relative: String,
    pub content_hash: String,
    pub mtime: Option<SystemTime>,
    pub size_bytes: i64,
    pub source: String,
    pub result: ParseResult,
}

/// What one batch stored.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchOutcome {
    pub dags: usize,
    pub new_versions: usize,
    pub import_errors: usize,
    pub deactivated: usize,
}

/// A batch whose serialized DAGs are bigger than this is written on a
/// connection that is closed afterwards: a pooled connection keeps the
/// buffers it grew (tens of MB for a 10,000-task DAG) for as long as it lives.
const BIG_BATCH_BYTES: usize = 4 << 20;

/// Stores `batch` atomically.
pub async fn persist_batch(
    pool: &PgPool,
    batch: Vec<ParsedFile>,
    paused_at_creation: bool,
) -> updraft_core::Result<BatchOutcome> {
    let bytes: usize = batch
        .iter()
        .flat_map(|f| f.result.dags.iter())
        .map(|d| d.get().len())
        .sum();
    let mut conn = pool.acquire().await?;
    let outcome = persist_on(&mut conn, batch, paused_at_creation).await;
    if bytes > BIG_BATCH_BYTES {
        // Closing is best effort: the batch is already committed (or not).
        let _ = conn.detach().close().await;
    }
    outcome
}

async fn persist_on(
    conn: &mut PgConnection,
    batch: Vec<ParsedFile>,
    paused_at_creation: bool,
) -> updraft_core::Result<BatchOutcome> {
    let mut tx = conn.begin().await?;
    dags::lock_for_versioning(&mut tx).await?;

    let mut parsed: Parsed = Vec::new();
    let mut failed: Vec<(ParsedFile, ParseError)> = Vec::new();
    for file in batch {
        match typed_dags(&file.result) {
            Ok(d) => parsed.push((file, d)),
            Err(e) => failed.push((file, e)),
        }
    }
    let (parsed, duplicates) = split_duplicates(&mut tx, parsed).await?;
    failed.extend(duplicates);

    let pools = pools::names(&mut tx).await?;
    let mut upserts = Vec::new();
    let mut sources = Vec::new();
    let mut ok_files = Vec::new();
    let mut records = Vec::new();
    for (mut file, dags) in parsed {
        records.push(record(&file, dags.len()));
        let warnings = std::mem::take(&mut file.result.warnings);
        for (dag, data) in dags {
            let mut dag_warnings: Vec<ParseWarning> = warnings
                .iter()
                .filter(|w| w.dag_id == dag.dag_id.as_str())
                .cloned()
                .collect();
            dag_warnings.extend(missing_pools_warning(&dag, &pools));
            upserts.push(DagUpsert {
                dag_hash: hex::encode(Sha256::digest(data.as_bytes())),
                warnings: dag_warnings,
                dag,
                data,
                relative_fileloc: file.relative.clone(),
                source_hash: file.content_hash.clone(),
            });
        }
        ok_files.push(file.fileloc.clone());
        sources.push(DagSource {
            source_hash: file.content_hash,
            fileloc: file.fileloc,
            source_code: file.source,
        });
    }
    let stored = dags::store_parsed(&mut tx, &upserts, &sources, paused_at_creation).await?;

    let keep: Vec<String> = upserts.iter().map(|u| u.dag.dag_id.to_string()).collect();
    let deactivated = dags::deactivate_missing(&mut tx, &ok_files, &keep).await?;
    import_errors::clear(&mut tx, &ok_files).await?;
    let errors: Vec<(String, ParseError)> = failed
        .iter()
        .map(|(f, e)| (f.fileloc.clone(), e.clone()))
        .collect();
    import_errors::upsert_many(&mut tx, &errors).await?;

    records.extend(failed.iter().map(|(f, _)| record(f, 0)));
    dag_files::upsert_many(&mut tx, &records).await?;
    tx.commit().await?;
    Ok(BatchOutcome {
        dags: stored.dags_stored,
        new_versions: stored.new_versions,
        import_errors: errors.len(),
        deactivated: deactivated.len(),
    })
}

/// Files that left the folder: their DAGs become inactive, their errors go.
pub async fn forget_files(pool: &PgPool, gone: &[String]) -> updraft_core::Result<usize> {
    if gone.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    dag_files::mark_absent(&mut tx, gone).await?;
    let deactivated = dags::deactivate_missing(&mut tx, gone, &[]).await?;
    import_errors::clear(&mut tx, gone).await?;
    tx.commit().await?;
    Ok(deactivated.len())
}

/// Airflow's "non-existent pool" DAG warning: tasks in a pool that does not
/// exist are never queued until it is created.
fn missing_pools_warning(
    dag: &SerializedDag,
    pools: &std::collections::HashSet<String>,
) -> Option<ParseWarning> {
    let missing: std::collections::BTreeSet<&str> = dag
        .tasks
        .iter()
        .filter_map(|t| t.pool.as_deref())
        .filter(|p| !pools.contains(*p))
        .collect();
    (!missing.is_empty()).then(|| ParseWarning {
        dag_id: dag.dag_id.to_string(),
        task_id: None,
        kind: "non-existent pool".into(),
        // Airflow's wording, with the list as Python prints it.
        message: format!(
            "Dag '{}' references non-existent pools: ['{}']",
            dag.dag_id,
            missing.into_iter().collect::<Vec<_>>().join("', '")
        ),
    })
}

fn record(file: &ParsedFile, dag_count: usize) -> DagFileRecord {
    DagFileRecord {
        fileloc: file.fileloc.clone(),
        relative_fileloc: file.relative.clone(),
        content_hash: file.content_hash.clone(),
        mtime: file.mtime.map(DateTime::<Utc>::from),
        size_bytes: file.size_bytes,
        parse_duration_ms: file.result.duration_ms.max(0.0),
        dag_count: i32::try_from(dag_count).unwrap_or(i32::MAX),
    }
}

/// The DAGs of a successful parse, typed; any failure is the file's error.
fn typed_dags(result: &ParseResult) -> Result<Vec<(SerializedDag, String)>, ParseError> {
    if !result.ok {
        return Err(result.error.clone().unwrap_or(ParseError {
            kind: ParseErrorKind::Processor,
            message: "the parse child reported a failure without an error".into(),
            line: None,
            traceback: String::new(),
        }));
    }
    result
        .dags
        .iter()
        .map(|raw| {
            serde_json::from_str::<SerializedDag>(raw.get())
                .map(|d| (d, raw.get().to_owned()))
                .map_err(|e| ParseError {
                    kind: ParseErrorKind::InvalidDag,
                    message: format!("the parse child produced a DAG Updraft cannot read: {e}"),
                    line: None,
                    traceback: String::new(),
                })
        })
        .collect()
}

type Parsed = Vec<(ParsedFile, Vec<(SerializedDag, String)>)>;

/// A DAG id may live in one file only (Airflow: "DAG id also found in …").
/// The first file to claim an id keeps it; a later file defining the same id
/// becomes an import error, whether the first is in this batch or stored.
async fn split_duplicates(
    conn: &mut sqlx::PgConnection,
    parsed: Parsed,
) -> updraft_core::Result<(Parsed, Vec<(ParsedFile, ParseError)>)> {
    let all_ids: Vec<String> = parsed
        .iter()
        .flat_map(|(_, d)| d.iter().map(|(dag, _)| dag.dag_id.to_string()))
        .collect();
    let in_batch: std::collections::HashSet<&str> =
        parsed.iter().map(|(f, _)| f.fileloc.as_str()).collect();
    // A file of this batch speaks for itself: its stored claims are stale.
    let stored_owner: HashMap<String, String> = dags::active_owners(conn, &all_ids)
        .await?
        .into_iter()
        .filter(|(_, owner)| !in_batch.contains(owner.as_str()))
        .collect();
    let mut claimed: HashMap<String, String> = HashMap::new();
    let mut kept = Vec::new();
    let mut failed = Vec::new();
    for (file, dags) in parsed {
        let clash = dags.iter().find_map(|(dag, _)| {
            let id = dag.dag_id.as_str();
            claimed
                .get(id)
                .or_else(|| stored_owner.get(id).filter(|owner| **owner != file.fileloc))
                .map(|other| (id.to_owned(), other.clone()))
        });
        match clash {
            Some((id, other)) => failed.push((
                file,
                ParseError {
                    kind: ParseErrorKind::InvalidDag,
                    message: format!(
                        "DAG id {id:?} is already defined in {other}; a DAG id must be unique \
                         across the dags folder"
                    ),
                    line: None,
                    traceback: String::new(),
                },
            )),
            None => {
                for (dag, _) in &dags {
                    claimed.insert(dag.dag_id.to_string(), file.fileloc.clone());
                }
                kept.push((file, dags));
            }
        }
    }
    Ok((kept, failed))
}
