//! Which names hold secrets, and connections with their secrets hidden:
//! shared by the CLI's listings, the web UI's connection pages and the
//! worker's log masking.

use serde_json::Value;

use crate::store::connections::ConnectionRow;

/// What a hidden value shows.
pub const HIDDEN: &str = "***";

/// Airflow 3.1's `DEFAULT_SENSITIVE_FIELDS`
/// (`airflow/_shared/secrets_masker/secrets_masker.py`); 2.10's set is the
/// same minus `access_key`, `connection_string`, `proxy` and `proxies`.
pub const SENSITIVE_FIELDS: &[&str] = &[
    "access_key",
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "connection_string",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "proxy",
    "proxies",
    "secret",
    "token",
    "keyfile_dict",
    "service_account",
];

/// Airflow's `should_hide_value_for_key`: the lowercased, trimmed name
/// contains one of [`SENSITIVE_FIELDS`].
pub fn is_sensitive_key(name: &str) -> bool {
    let name = name.trim().to_lowercase();
    SENSITIVE_FIELDS.iter().any(|s| name.contains(s))
}

/// librdkafka settings holding key material without saying so in their
/// names (a `kafka` connection's extra is librdkafka configuration).
const KEY_MATERIAL: &[&str] = &[
    "ssl.key.pem",
    "ssl_key",
    "ssl.keystore.location",
    "sasl.jaas.config",
];

/// Whether a connection extra named `key` is a secret.
pub fn is_secret_extra(key: &str) -> bool {
    is_sensitive_key(key) || KEY_MATERIAL.contains(&key.trim().to_ascii_lowercase().as_str())
}

fn hide(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_extra(k) && !v.is_null() {
                    *v = Value::String(HIDDEN.to_owned());
                } else {
                    hide(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(hide),
        _ => {}
    }
}

/// The connection with its password and secret extras (nested too)
/// replaced by [`HIDDEN`].
pub fn masked(c: &ConnectionRow) -> ConnectionRow {
    let mut out = c.clone();
    if out.password.is_some() {
        out.password = Some(HIDDEN.as_bytes().to_vec());
    }
    if let Some(mut extra) = c
        .extra_text()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    {
        hide(&mut extra);
        out.extra = Some(extra.to_string().into_bytes());
    }
    out
}

/// `edited` extras (as a form sends them back) with every [`HIDDEN`] value
/// at a secret key replaced by the value `stored` has at the same place:
/// an unchanged secret is kept, a new one is taken.
pub fn restore_hidden(edited: &mut Value, stored: &Value) {
    match (edited, stored) {
        (Value::Object(new), Value::Object(old)) => {
            for (k, v) in new.iter_mut() {
                let Some(was) = old.get(k) else { continue };
                if is_secret_extra(k) && v.as_str() == Some(HIDDEN) {
                    *v = was.clone();
                } else {
                    restore_hidden(v, was);
                }
            }
        }
        (Value::Array(new), Value::Array(old)) => {
            for (v, was) in new.iter_mut().zip(old) {
                restore_hidden(v, was);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hides_and_restores_secret_extras() {
        let c = ConnectionRow {
            conn_id: "k".into(),
            conn_type: "kafka".into(),
            description: None,
            host: Some("b".into()),
            schema: None,
            login: Some("me".into()),
            password: Some(b"pw".to_vec()),
            port: None,
            extra: Some(
                br#"{"sasl.password": "hunter2", "ssl.key.pem": "KEY", "nested": {"api_token": "t"}, "group.id": "g"}"#
                    .to_vec(),
            ),
        };
        let m = masked(&c);
        assert_eq!(m.password.as_deref(), Some(HIDDEN.as_bytes()));
        let shown: Value =
            serde_json::from_slice(m.extra.as_deref().unwrap_or_default()).expect("json");
        assert_eq!(
            shown,
            json!({"sasl.password": "***", "ssl.key.pem": "***", "nested": {"api_token": "***"}, "group.id": "g"})
        );
        let stored: Value =
            serde_json::from_slice(c.extra.as_deref().unwrap_or_default()).expect("json");
        let mut edited = shown.clone();
        edited["group.id"] = json!("g2");
        edited["ssl.key.pem"] = json!("NEW");
        restore_hidden(&mut edited, &stored);
        assert_eq!(
            edited,
            json!({"sasl.password": "hunter2", "ssl.key.pem": "NEW", "nested": {"api_token": "t"}, "group.id": "g2"})
        );
    }
}
