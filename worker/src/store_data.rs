//! [`TemplateData`] backed by the database. Rendering is synchronous, so the
//! run's XComs and all Variables and Connections are read once, before a
//! task's fields are rendered, into an [`InMemoryData`] snapshot.
//! Connections from the environment (`AIRFLOW_CONN_*`) win over the
//! database's, as Airflow looks in the environment before the metastore;
//! they are masked as secrets the same way (`templates::mask`).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::PgConnection;
use updraft_core::model::connection_uri;
use updraft_core::store::connections::{self, ConnectionRow};
use updraft_core::store::{variables, xcom};

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
    let db_rows = connections::all(&mut *conn).await?;
    for row in merge_env(db_rows, connection_uri::env_connections()) {
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

/// `db` with `env` over it. An environment connection replaces each
/// database one whose id names the same variable (`AIRFLOW_CONN_{ID.upper()}`),
/// under the database row's spelling (templates ask by that), and is there
/// under its own lowercased id too.
fn merge_env(db: Vec<ConnectionRow>, env: Vec<ConnectionRow>) -> Vec<ConnectionRow> {
    let mut merged: BTreeMap<String, ConnectionRow> =
        db.into_iter().map(|r| (r.conn_id.clone(), r)).collect();
    for e in env {
        let key = connection_uri::env_key(&e.conn_id);
        let same: Vec<String> = merged
            .keys()
            .filter(|id| connection_uri::env_key(id) == key)
            .cloned()
            .collect();
        for conn_id in same {
            merged.insert(
                conn_id.clone(),
                ConnectionRow {
                    conn_id,
                    ..e.clone()
                },
            );
        }
        merged.insert(e.conn_id.clone(), e);
    }
    merged.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(conn_id: &str, host: &str) -> ConnectionRow {
        ConnectionRow {
            conn_id: conn_id.to_owned(),
            conn_type: "http".to_owned(),
            description: None,
            host: Some(host.to_owned()),
            schema: None,
            login: None,
            password: None,
            port: None,
            extra: None,
        }
    }

    // Invariant: the environment wins over the database, as in Airflow, and
    // database connections the environment does not name stay.
    #[test]
    fn env_connections_win_over_the_database() {
        let db = vec![
            row("kafka_default", "db"),
            row("My_Conn", "db"),
            row("other", "db"),
        ];
        let env = vec![
            row("kafka_default", "env"),
            row("my_conn", "env"),
            row("new", "env"),
        ];
        let merged: Vec<(String, String)> = merge_env(db, env)
            .into_iter()
            .map(|r| (r.conn_id, r.host.unwrap_or_default()))
            .collect();
        let want = [
            ("My_Conn", "env"),
            ("kafka_default", "env"),
            ("my_conn", "env"),
            ("new", "env"),
            ("other", "db"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()));
        assert_eq!(merged, want);
    }
}
