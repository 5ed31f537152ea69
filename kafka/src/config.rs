//! A `kafka` connection's config: its extra JSON is librdkafka configuration
//! ("Config Dict" in Airflow's UI), passed through as it is, so SASL and SSL
//! (mTLS) settings work as they do with the upstream provider.

use rdkafka::ClientConfig;
use serde_json::Value as Json;
use updraft_core::model::secrets::is_secret_extra;

/// Why a connection cannot configure a Kafka client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("connection {conn_id:?} is of type {conn_type:?}, not kafka")]
    NotKafka { conn_id: String, conn_type: String },
    #[error(
        "connection {conn_id:?}: its extra must be a JSON object of librdkafka settings \
         (\"Config Dict\"), e.g. {{\"bootstrap.servers\": \"host:9092\"}}; got {got}"
    )]
    NotAnObject { conn_id: String, got: String },
    #[error("connection {conn_id:?}: bootstrap.servers is required in its config")]
    NoBootstrapServers { conn_id: String },
    #[error("connection {conn_id:?}: setting {key:?} must be a string, number or boolean")]
    BadValue { conn_id: String, key: String },
}

/// librdkafka settings, as strings, in the order the connection gave them.
#[derive(Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    pub conn_id: String,
    settings: Vec<(String, String)>,
}

impl std::fmt::Debug for KafkaConfig {
    // Secrets (SASL passwords, private keys) never reach a log through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(k, v)| {
                let v = if is_secret_extra(k) {
                    "***"
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("KafkaConfig")
            .field("conn_id", &self.conn_id)
            .field("settings", &shown)
            .finish()
    }
}

impl KafkaConfig {
    /// From a connection's type and extra (a JSON object, or its text).
    /// The provider accepts an empty type too (`conn_type` is not checked
    /// by its hooks), so only another named type is refused.
    pub fn from_connection(
        conn_id: &str,
        conn_type: Option<&str>,
        extra: &Json,
    ) -> Result<Self, ConfigError> {
        if let Some(t) = conn_type.filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("kafka")) {
            return Err(ConfigError::NotKafka {
                conn_id: conn_id.to_owned(),
                conn_type: t.to_owned(),
            });
        }
        let parsed;
        let extra = match extra {
            Json::String(text) => {
                parsed = serde_json::from_str::<Json>(text).unwrap_or(Json::Null);
                &parsed
            }
            other => other,
        };
        let Json::Object(map) = extra else {
            return Err(ConfigError::NotAnObject {
                conn_id: conn_id.to_owned(),
                got: truncate(&extra.to_string()),
            });
        };
        let mut settings = Vec::with_capacity(map.len());
        for (key, value) in map {
            let text = match value {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                Json::Bool(b) => b.to_string(),
                _ => {
                    return Err(ConfigError::BadValue {
                        conn_id: conn_id.to_owned(),
                        key: key.clone(),
                    });
                }
            };
            settings.push((key.clone(), text));
        }
        let config = Self {
            conn_id: conn_id.to_owned(),
            settings,
        };
        if config.get("bootstrap.servers").is_none_or(str::is_empty) {
            return Err(ConfigError::NoBootstrapServers {
                conn_id: conn_id.to_owned(),
            });
        }
        Ok(config)
    }

    /// A setting's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` unless the connection set it: our defaults never override
    /// the user's.
    pub fn set_default(&mut self, key: &str, value: &str) {
        if self.get(key).is_none() {
            self.settings.push((key.to_owned(), value.to_owned()));
        }
    }

    /// Sets `key` whatever the connection said (settings a guarantee needs).
    pub fn force(&mut self, key: &str, value: &str) {
        self.settings.retain(|(k, _)| k != key);
        self.settings.push((key.to_owned(), value.to_owned()));
    }

    pub fn bootstrap_servers(&self) -> &str {
        self.get("bootstrap.servers").unwrap_or_default()
    }

    /// The settings as an rdkafka client config.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        for (k, v) in &self.settings {
            c.set(k, v);
        }
        c
    }
}

fn truncate(text: &str) -> String {
    let mut t: String = text.chars().take(80).collect();
    if t.len() < text.len() {
        t.push('…');
    }
    t
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // The extra passes through as librdkafka settings; numbers and booleans
    // become their text.
    #[test]
    fn extra_becomes_settings() {
        let extra = json!({"bootstrap.servers": "127.0.0.1:9092", "group.id": "g",
            "socket.timeout.ms": 1000, "enable.auto.commit": false});
        let c = KafkaConfig::from_connection("kafka_default", Some("kafka"), &extra).expect("ok");
        assert_eq!(c.bootstrap_servers(), "127.0.0.1:9092");
        assert_eq!(c.get("socket.timeout.ms"), Some("1000"));
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
        let cc = c.client_config();
        assert_eq!(cc.get("group.id"), Some("g"));
    }

    // The extra may come as text (a stored connection's column).
    #[test]
    fn extra_as_text() {
        let extra = json!("{\"bootstrap.servers\": \"b:1\"}");
        let c = KafkaConfig::from_connection("k", None, &extra).expect("ok");
        assert_eq!(c.bootstrap_servers(), "b:1");
    }

    #[test]
    fn bad_connections_are_refused_with_a_reason() {
        let no_bootstrap =
            KafkaConfig::from_connection("k", Some("kafka"), &json!({"group.id": "g"}));
        assert_eq!(
            no_bootstrap,
            Err(ConfigError::NoBootstrapServers {
                conn_id: "k".into()
            })
        );
        let not_kafka = KafkaConfig::from_connection("k", Some("postgres"), &json!({}));
        assert!(matches!(not_kafka, Err(ConfigError::NotKafka { .. })));
        let not_object = KafkaConfig::from_connection("k", Some("kafka"), &json!("nope"));
        assert!(matches!(not_object, Err(ConfigError::NotAnObject { .. })));
        let nested = KafkaConfig::from_connection(
            "k",
            Some("kafka"),
            &json!({"bootstrap.servers": "b:1", "x": {"y": 1}}),
        );
        assert!(matches!(nested, Err(ConfigError::BadValue { .. })));
    }

    // Defaults never override the user's settings; forced ones do.
    #[test]
    fn defaults_and_forced_settings() {
        let mut c = KafkaConfig::from_connection(
            "k",
            Some("kafka"),
            &json!({"bootstrap.servers": "b:1", "acks": "1"}),
        )
        .expect("ok");
        c.set_default("acks", "all");
        c.set_default("linger.ms", "5");
        assert_eq!(c.get("acks"), Some("1"));
        assert_eq!(c.get("linger.ms"), Some("5"));
        c.force("acks", "all");
        assert_eq!(c.get("acks"), Some("all"));
    }

    // Secret settings (by core's rule for connection extras, key material
    // included) are never printed by Debug.
    #[test]
    fn secrets_are_masked() {
        let c = KafkaConfig::from_connection(
            "k",
            Some("kafka"),
            &json!({"bootstrap.servers": "b:1", "sasl.password": "hunter2",
                "ssl.key.pem": "-----BEGIN", "sasl.username": "me"}),
        )
        .expect("ok");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("-----BEGIN") && shown.contains("me"),
            "{shown}"
        );
    }
}
