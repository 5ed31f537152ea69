//! Serialized DAG versions shared by the tries of one worker: a version never
//! changes once stored, so concurrent tries of one DAG (200 of fanout_200)
//! share one decoded copy instead of each reading and holding its own.
//! Bounded: past `CAPACITY` versions the cache starts over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value as Json;
use sqlx::PgPool;
use updraft_core::store::{dags, task_instances};
use uuid::Uuid;

use crate::prepare::{PrepareError, db_error};

const CAPACITY: usize = 64;

/// Keyed by DAG id and version id (see the scheduler's cache).
type Key = (String, i64);

fn cache() -> &'static Mutex<HashMap<Key, Arc<Json>>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<Json>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The serialized DAG the task instance `ti_id` runs on.
pub async fn dag_of(pool: &PgPool, ti_id: Uuid, dag_id: &str) -> Result<Arc<Json>, PrepareError> {
    let version = {
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| db_error("connecting to the database")(&e))?;
        task_instances::dag_version_of(&mut conn, ti_id)
            .await
            .map_err(|e| db_error("finding the DAG version")(&e))?
            .ok_or_else(|| format!("DAG {dag_id} has no serialized form"))?
    };
    let key = (dag_id.to_owned(), version);
    if let Some(dag) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(dag);
    }
    let dag = dags::version_data(pool, version)
        .await
        .map_err(|e| db_error("loading the serialized DAG")(&e))?
        .map(Arc::new)
        .ok_or_else(|| format!("DAG {dag_id} has no version {version}"))?;
    if let Ok(mut c) = cache().lock() {
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(key, Arc::clone(&dag));
    }
    Ok(dag)
}
