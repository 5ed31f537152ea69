//! Serialized DAG versions, decoded once per process, and their task graphs,
//! built once: a version never changes after it is stored, so the scheduler
//! reads one by id when it first meets it instead of transferring (and
//! decoding, and building a graph of) every DAG with every pass. Bounded:
//! past `CAPACITY` versions a cache starts over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sqlx::PgConnection;
use updraft_core::model::SerializedDag;
use updraft_core::store::dag_runs;

use crate::decide::Graph;
use crate::{Error, Result};

const CAPACITY: usize = 256;

/// Keyed by DAG id and version id: ids are unique in one database, and the
/// DAG id keeps a process that meets two databases (tests) from mixing them.
type Key = (String, i64);

fn cache() -> &'static Mutex<HashMap<Key, Arc<SerializedDag>>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<SerializedDag>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The serialized DAG of version `version_id` of `dag_id`.
pub async fn version(
    conn: &mut PgConnection,
    dag_id: &str,
    version_id: i64,
) -> Result<Arc<SerializedDag>> {
    let key = (dag_id.to_owned(), version_id);
    if let Some(dag) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
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
        c.insert(key, Arc::clone(&dag));
    }
    Ok(dag)
}

fn graphs() -> &'static Mutex<HashMap<Key, Arc<Graph>>> {
    static GRAPHS: OnceLock<Mutex<HashMap<Key, Arc<Graph>>>> = OnceLock::new();
    GRAPHS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The task graph of version `version_id` of `dag_id`.
pub async fn graph(conn: &mut PgConnection, dag_id: &str, version_id: i64) -> Result<Arc<Graph>> {
    let key = (dag_id.to_owned(), version_id);
    if let Some(g) = graphs().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(g);
    }
    let dag = version(conn, dag_id, version_id).await?;
    let graph = Arc::new(
        Graph::from_dag(&dag).map_err(|reason| Error::Unschedulable {
            dag_id: dag_id.to_owned(),
            reason,
        })?,
    );
    if let Ok(mut c) = graphs().lock() {
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(key, Arc::clone(&graph));
    }
    Ok(graph)
}
