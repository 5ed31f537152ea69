//! Where templates read XComs, Variables and Connections from. The worker
//! backs [`TemplateData`] with the database; [`InMemoryData`] serves tests and
//! `dags test`.

use std::collections::HashMap;

/// A connection as templates see it (`{{ conn.my_id.host }}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionInfo {
    pub conn_type: Option<String>,
    pub host: Option<String>,
    pub login: Option<String>,
    pub password: Option<String>,
    pub port: Option<u16>,
    pub schema: Option<String>,
    /// The `extra` field parsed as JSON (`extra_dejson`); `{}` when empty.
    pub extra: serde_json::Value,
}

/// Identifies one XCom row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XComKey {
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub key: String,
}

/// Read-only access to the data templates may look up while rendering.
pub trait TemplateData: Send + Sync {
    /// The XCom value, or `None` when no such row exists.
    fn xcom(&self, key: &XComKey) -> Option<serde_json::Value>;
    /// A Variable's raw (string) value.
    fn variable(&self, key: &str) -> Option<String>;
    fn connection(&self, conn_id: &str) -> Option<ConnectionInfo>;
}

/// A [`TemplateData`] held in maps.
#[derive(Debug, Clone, Default)]
pub struct InMemoryData {
    pub xcoms: HashMap<XComKey, serde_json::Value>,
    pub variables: HashMap<String, String>,
    pub connections: HashMap<String, ConnectionInfo>,
}

impl InMemoryData {
    pub fn with_xcom(
        mut self,
        (dag_id, run_id, task_id, key): (&str, &str, &str, &str),
        value: serde_json::Value,
    ) -> Self {
        let k = XComKey {
            dag_id: dag_id.into(),
            run_id: run_id.into(),
            task_id: task_id.into(),
            key: key.into(),
        };
        self.xcoms.insert(k, value);
        self
    }

    pub fn with_variable(mut self, key: &str, value: &str) -> Self {
        self.variables.insert(key.into(), value.into());
        self
    }

    pub fn with_connection(mut self, conn_id: &str, conn: ConnectionInfo) -> Self {
        self.connections.insert(conn_id.into(), conn);
        self
    }
}

impl TemplateData for InMemoryData {
    fn xcom(&self, key: &XComKey) -> Option<serde_json::Value> {
        self.xcoms.get(key).cloned()
    }

    fn variable(&self, key: &str) -> Option<String> {
        self.variables.get(key).cloned()
    }

    fn connection(&self, conn_id: &str) -> Option<ConnectionInfo> {
        self.connections.get(conn_id).cloned()
    }
}
