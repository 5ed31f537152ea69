//! Serialized DAG versions, decoded once per process: a version never
//! changes after it is stored, so the scheduler reads one by id when it
//! first meets it instead of transferring (and decoding) every DAG with
//! every pass. Bounded: past `CAPACITY` versions the cache starts over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sqlx::PgConnection;
use updraft_core::model::SerializedDag;
use updraft_core::store::dag_runs;

use crate::{Error, Result};

const CAPACITY: usize = 256;

fn cache() -> &'static Mutex<HashMap<i64, Arc<SerializedDag>>> {
    static CACHE: OnceLock<Mutex<HashMap<i64, Arc<SerializedDag>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The serialized DAG of version `version_id` of `dag_id`.
pub async fn version(
    conn: &mut PgConnection,
    dag_id: &str,
    version_id: i64,
) -> Result<Arc<SerializedDag>> {
    if let Some(dag) = cache()
        .lock()
        .ok()
        .and_then(|c| c.get(&version_id).cloned())
    {
        return Ok(dag);
    }
    let dag = dag_runs::version_dag(conn, version_id)
        .await?
        .map(Arc::new)
        .ok_or_else(|| Error::DagNotFound(format!("{dag_id} (version {version_id})")))?;
    if let Ok(mut c) = cache().lock() {
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(version_id, Arc::clone(&dag));
    }
    Ok(dag)
}
