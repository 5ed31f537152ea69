//! Secret masking as Airflow's `secrets_masker` does it: values of
//! connection passwords, of sensitive connection extras and of Variables whose
//! key names a secret are replaced by `***` in rendered fields and logs.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use super::data::{ConnectionInfo, TemplateData, XComKey};

use updraft_core::model::secrets::is_secret_extra;
pub use updraft_core::model::secrets::{SENSITIVE_FIELDS, is_sensitive_key};

/// The values to hide.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretSet(BTreeSet<String>);

impl SecretSet {
    pub fn add(&mut self, secret: &str) {
        // Airflow skips empty values and the word "airflow" (SECRETS_TO_SKIP_MASKING).
        if !secret.is_empty() && secret != "airflow" {
            self.0.insert(secret.to_string());
        }
    }

    /// Adds `value` (and, for JSON, every sensitive nested field) when `name`
    /// is sensitive, as `mask_secret(value, name)` does.
    pub fn add_named(&mut self, name: &str, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    self.add_named(k, v);
                }
            }
            serde_json::Value::Array(items) if is_sensitive_key(name) => {
                items.iter().for_each(|v| self.add_named(name, v));
            }
            serde_json::Value::String(s) if is_sensitive_key(name) => self.add(s),
            v if is_sensitive_key(name) && !v.is_null() && !v.is_array() => {
                self.add(&v.to_string())
            }
            _ => {}
        }
    }

    /// A connection's password and its secret extras: Airflow's sensitive
    /// names, and key material that does not say so in its name
    /// (`ssl.key.pem`…, `updraft_core::model::secrets::is_secret_extra`).
    pub fn add_connection(&mut self, conn: &ConnectionInfo) {
        if let Some(p) = &conn.password {
            self.add(p);
        }
        self.add_extra(&conn.extra);
    }

    fn add_extra(&mut self, extra: &serde_json::Value) {
        let serde_json::Value::Object(map) = extra else {
            return;
        };
        for (k, v) in map {
            if is_secret_extra(k) {
                // Its value, as `add_named` takes one under a sensitive name.
                self.add_named("password", v);
            } else {
                self.add_extra(v);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every secret replaced by `***` (longest first, so a secret
    /// containing another is hidden whole).
    pub fn mask(&self, text: &str) -> String {
        let mut secrets: Vec<&String> = self.0.iter().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets
            .into_iter()
            .fold(text.to_string(), |acc, s| acc.replace(s.as_str(), "***"))
    }

    /// Masks every string inside a JSON value (rendered fields).
    pub fn mask_json(&self, value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::String(s) => serde_json::Value::String(self.mask(s)),
            serde_json::Value::Array(a) => a.iter().map(|v| self.mask_json(v)).collect(),
            serde_json::Value::Object(m) => {
                let masked = m.iter().map(|(k, v)| (k.clone(), self.mask_json(v)));
                serde_json::Value::Object(masked.collect())
            }
            other => other.clone(),
        }
    }
}

/// `mask_secrets(rendered, secrets)`: the free-function form.
pub fn mask_secrets(rendered: &str, secrets: &SecretSet) -> String {
    secrets.mask(rendered)
}

/// Wraps a [`TemplateData`] and records the secrets a render reads, the way
/// Airflow masks a Variable or Connection when it is fetched.
pub struct Recording {
    pub inner: Arc<dyn TemplateData>,
    pub seen: Mutex<SecretSet>,
}

impl Recording {
    fn note(&self, f: impl FnOnce(&mut SecretSet)) {
        if let Ok(mut guard) = self.seen.lock() {
            f(&mut guard);
        }
    }

    pub fn secrets(&self) -> SecretSet {
        self.seen.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

impl TemplateData for Recording {
    fn xcom(&self, key: &XComKey) -> Option<serde_json::Value> {
        self.inner.xcom(key)
    }

    fn variable(&self, key: &str) -> Option<String> {
        let v = self.inner.variable(key)?;
        self.note(|s| {
            if is_sensitive_key(key) {
                s.add(&v);
            }
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&v) {
                s.add_named(key, &json);
            }
        });
        Some(v)
    }

    fn connection(&self, conn_id: &str) -> Option<super::data::ConnectionInfo> {
        let c = self.inner.connection(conn_id)?;
        self.note(|s| s.add_connection(&c));
        Some(c)
    }
}
