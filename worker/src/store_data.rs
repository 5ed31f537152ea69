//! [`TemplateData`] backed by the database. Rendering is synchronous, so the
//! run's XComs and all Variables and Connections are read once, before a
//! task's fields are rendered, into an [`InMemoryData`] snapshot.

use sqlx::PgConnection;
use updraft_core::store::{connections, variables, xcom};

use crate::templates::{ConnectionInfo, InMemoryData, XComKey};

/// Reads what templates of a task of run `run_id` may look up.
pub async fn snapshot(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
) -> updraft_core::Result<InMemoryData> {
    let mut data = InMemoryData::default();
    for row in xcom::list_for_run(&mut *conn, dag_id, run_id).await? {
        // Templates pull unmapped XComs; a mapped task's values come later
        // (dynamic task mapping).
        if row.map_index != -1 {
            continue;
        }
        let key = XComKey {
            dag_id: dag_id.to_owned(),
            run_id: run_id.to_owned(),
            task_id: row.task_id,
            key: row.key,
        };
        data.xcoms.insert(key, row.value.unwrap_or_default());
    }
    for (key, val) in variables::all(&mut *conn).await? {
        data.variables.insert(key, val);
    }
    for row in connections::all(&mut *conn).await? {
        let extra = row
            .extra_text()
            .filter(|t| !t.trim().is_empty())
            .map(|t| serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t)))
            .unwrap_or_else(|| serde_json::json!({}));
        let info = ConnectionInfo {
            conn_type: Some(row.conn_type.clone()),
            host: row.host.clone(),
            login: row.login.clone(),
            password: row.password_text(),
            port: row.port.and_then(|p| u16::try_from(p).ok()),
            schema: row.schema.clone(),
            extra,
        };
        data.connections.insert(row.conn_id, info);
    }
    Ok(data)
}
