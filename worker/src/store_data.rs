//! [`TemplateData`] backed by the database. Rendering is synchronous, so the
//! run's XComs and all Variables and Connections are read once, before a
//! task's fields are rendered, into an [`InMemoryData`] snapshot.

use std::collections::BTreeSet;

use sqlx::PgConnection;
use updraft_core::store::{connections, variables, xcom};

use crate::templates::{ConnectionInfo, InMemoryData, XComKey};

/// Reads what templates of a task of run `run_id` may look up; `xcoms` are
/// the run's XCom rows. A mapped task's XComs are pulled as one list by map
/// index, as in Airflow.
pub async fn snapshot(
    conn: &mut PgConnection,
    dag_id: &str,
    run_id: &str,
    xcoms: &[xcom::XComRow],
) -> updraft_core::Result<InMemoryData> {
    let mut data = InMemoryData::default();
    let keys: BTreeSet<(&str, &str)> = xcoms
        .iter()
        .map(|r| (r.task_id.as_str(), r.key.as_str()))
        .collect();
    for (task_id, key) in keys {
        if let Some(value) = xcom::pulled(xcoms, task_id, key) {
            let at = XComKey {
                dag_id: dag_id.to_owned(),
                run_id: run_id.to_owned(),
                task_id: task_id.to_owned(),
                key: key.to_owned(),
            };
            data.xcoms.insert(at, value);
        }
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
