//! Airflow's textual forms of a Connection: its URI (`Connection(uri=…)`),
//! its JSON (`Connection.from_json`, the connections file's entries) and the
//! `AIRFLOW_CONN_{CONN_ID}` environment variables that hold either. Pure
//! functions over text, except [`env_connections`] and [`env_connection`],
//! which read the process environment at lookup time as Airflow's
//! `EnvironmentVariablesBackend` does (a connection exported after start-up
//! is seen by the next task).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::store::connections::ConnectionRow;

/// The prefix of connection environment variables (Airflow's `CONN_ENV_PREFIX`).
pub const ENV_PREFIX: &str = "AIRFLOW_CONN_";

/// Why a URI or JSON text is not a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConnectionParseError(String);

fn invalid(msg: String) -> ConnectionParseError {
    ConnectionParseError(msg)
}

/// Percent-decoding (`unquote`); invalid escapes stay as they are.
pub fn unquote(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Airflow's `Connection(uri=…)`: scheme → type (`-` → `_`), user,
/// password, host, port, path → schema, query → extra (`__extra__` holds
/// it verbatim; otherwise the query pairs become a JSON object of strings).
pub fn parse_uri(conn_id: &str, uri: &str) -> Result<ConnectionRow, ConnectionParseError> {
    let parsed = url::Url::parse(uri)
        .map_err(|e| invalid(format!("connection {conn_id}: {uri:?} is not a URI ({e})")))?;
    let non_empty = |s: &str| (!s.is_empty()).then(|| unquote(s));
    let query: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    let extra = match query.iter().find(|(k, _)| k == "__extra__") {
        Some((_, v)) => Some(v.clone()),
        None if query.is_empty() => None,
        None => Some(
            serde_json::to_string(&query.into_iter().collect::<BTreeMap<_, _>>())
                .map_err(|e| invalid(format!("connection {conn_id}: {e}")))?,
        ),
    };
    Ok(ConnectionRow {
        conn_id: conn_id.to_owned(),
        conn_type: parsed.scheme().replace('-', "_"),
        description: None,
        host: parsed.host_str().and_then(non_empty),
        schema: non_empty(parsed.path().trim_start_matches('/')),
        login: non_empty(parsed.username()),
        password: parsed.password().map(unquote).map(String::into_bytes),
        port: parsed.port().map(i32::from),
        extra: extra.map(String::into_bytes),
    })
}

/// One entry of Airflow's connections file: a URI string or an object with
/// `conn_type`, `description`, `host`, `login`, `password`, `schema`,
/// `port` and `extra` (a string, or an object stored as its JSON).
pub fn from_file_entry(conn_id: &str, v: &Value) -> Result<ConnectionRow, ConnectionParseError> {
    let obj: &Map<String, Value> = match v {
        Value::String(uri) => return parse_uri(conn_id, uri),
        Value::Object(obj) => obj,
        other => {
            return Err(invalid(format!(
                "connection {conn_id}: expected a URI or an object, not {other}"
            )));
        }
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    let Some(conn_type) = text("conn_type") else {
        return Err(invalid(format!(
            "connection {conn_id}: conn_type is required"
        )));
    };
    let port = match obj.get("port") {
        None | Some(Value::Null) => None,
        Some(p) => Some(
            p.as_i64()
                .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| {
                    invalid(format!("connection {conn_id}: port {p} is not a number"))
                })?,
        ),
    };
    let extra = match obj.get("extra").or_else(|| obj.get("extra_dejson")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    Ok(ConnectionRow {
        conn_id: conn_id.to_owned(),
        conn_type,
        description: text("description"),
        host: text("host"),
        schema: text("schema"),
        login: text("login"),
        password: text("password").map(String::into_bytes),
        port,
        extra: extra.map(String::into_bytes),
    })
}

/// The value of an `AIRFLOW_CONN_*` variable: JSON when it starts with `{`,
/// else a URI (Airflow's `BaseSecretsBackend.deserialize_connection`).
pub fn from_env_value(conn_id: &str, value: &str) -> Result<ConnectionRow, ConnectionParseError> {
    let value = value.trim();
    if value.starts_with('{') {
        let json: Value = serde_json::from_str(value).map_err(|e| {
            invalid(format!(
                "connection {conn_id}: {ENV_PREFIX}{} is not valid JSON ({e})",
                conn_id.to_uppercase()
            ))
        })?;
        from_file_entry(conn_id, &json)
    } else {
        parse_uri(conn_id, value)
    }
}

/// The environment variable that holds connection `conn_id`.
pub fn env_key(conn_id: &str) -> String {
    format!("{ENV_PREFIX}{}", conn_id.to_uppercase())
}

/// The connections among `vars` (name, value), keyed by the lowercased
/// rest of the name (`AIRFLOW_CONN_KAFKA_DEFAULT` → `kafka_default`). An
/// unparsable value is returned as its error, not dropped silently.
pub fn from_env_vars(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Vec<Result<ConnectionRow, ConnectionParseError>> {
    let mut found: Vec<_> = vars
        .into_iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix(ENV_PREFIX)?.to_lowercase();
            (!id.is_empty()).then(|| from_env_value(&id, &v))
        })
        .collect();
    found.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => a.conn_id.cmp(&b.conn_id),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(a), Err(b)) => a.0.cmp(&b.0),
    });
    found
}

/// Every connection defined in the environment; unparsable ones are
/// logged and left out (one bad variable must not hide the others).
pub fn env_connections() -> Vec<ConnectionRow> {
    from_env_vars(std::env::vars())
        .into_iter()
        .filter_map(|r| {
            r.map_err(|e| tracing::warn!(error = %e, "ignoring a connection environment variable"))
                .ok()
        })
        .collect()
}

/// Connection `conn_id` from `AIRFLOW_CONN_{CONN_ID}`, if that is set.
pub fn env_connection(conn_id: &str) -> Result<Option<ConnectionRow>, ConnectionParseError> {
    match std::env::var(env_key(conn_id)) {
        Ok(value) => from_env_value(conn_id, &value).map(Some),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn extra_json(c: &ConnectionRow) -> Value {
        serde_json::from_str(&c.extra_text().expect("extra")).expect("json")
    }

    #[test]
    fn uri_fields_are_decoded() {
        let uri = "postgres://us%40er:p%2Fw%20x@db.example:5432/my%20db?sslmode=require";
        let c = parse_uri("pg", uri).expect("parse");
        assert_eq!(c.conn_type, "postgres");
        assert_eq!(c.login.as_deref(), Some("us@er"));
        assert_eq!(c.password_text().as_deref(), Some("p/w x"));
        assert_eq!(c.host.as_deref(), Some("db.example"));
        assert_eq!(c.port, Some(5432));
        assert_eq!(c.schema.as_deref(), Some("my db"));
        assert_eq!(extra_json(&c), json!({"sslmode": "require"}));
    }

    // The documented Kafka form: no host, the query is the librdkafka config.
    #[test]
    fn kafka_uri_query_becomes_the_extra() {
        let c = parse_uri(
            "kafka_default",
            "kafka://?bootstrap.servers=127.0.0.1%3A9092&group.id=g",
        )
        .expect("parse");
        assert_eq!(c.conn_type, "kafka");
        assert_eq!(c.host, None);
        assert_eq!(c.schema, None);
        assert_eq!(
            extra_json(&c),
            json!({"bootstrap.servers": "127.0.0.1:9092", "group.id": "g"})
        );
        let verbatim = parse_uri(
            "k",
            "kafka://?__extra__=%7B%22a%22%3A+%7B%22b%22%3A+1%7D%7D",
        )
        .expect("parse");
        assert_eq!(extra_json(&verbatim), json!({"a": {"b": 1}}));
    }

    #[test]
    fn json_entries_with_object_or_text_extra() {
        let c = from_file_entry(
            "k",
            &json!({"conn_type": "kafka", "port": "9092", "extra": {"bootstrap.servers": "b:1"}}),
        )
        .expect("ok");
        assert_eq!(c.port, Some(9092));
        assert_eq!(extra_json(&c), json!({"bootstrap.servers": "b:1"}));
        let c =
            from_file_entry("k", &json!({"conn_type": "http", "extra": "{\"x\": 1}"})).expect("ok");
        assert_eq!(extra_json(&c), json!({"x": 1}));
        assert!(from_file_entry("k", &json!({"host": "h"})).is_err());
        assert!(from_file_entry("k", &json!({"conn_type": "x", "port": "p"})).is_err());
        assert!(from_file_entry("k", &json!(3)).is_err());
    }

    // Airflow: a value starting with `{` is JSON, anything else a URI.
    #[test]
    fn env_values_are_json_or_uri() {
        let j = from_env_value(
            "kafka_default",
            r#" {"conn_type": "kafka", "extra": {"bootstrap.servers": "b:1"}}"#,
        )
        .expect("json");
        assert_eq!(j.conn_type, "kafka");
        let u = from_env_value("kafka_default", "kafka://?bootstrap.servers=b%3A1").expect("uri");
        assert_eq!(extra_json(&u), extra_json(&j));
        let bad = from_env_value("my_conn", "{nope").expect_err("bad json");
        assert!(bad.to_string().contains("AIRFLOW_CONN_MY_CONN"), "{bad}");
    }

    #[test]
    fn env_vars_name_connections_in_lowercase() {
        let vars = [
            (
                "AIRFLOW_CONN_KAFKA_DEFAULT",
                "kafka://?bootstrap.servers=b%3A1",
            ),
            ("AIRFLOW_CONN_", "kafka://"),
            ("AIRFLOW_VAR_X", "1"),
            ("AIRFLOW_CONN_BROKEN", "{"),
            ("AIRFLOW_CONN_A", "http://h"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let found = from_env_vars(vars);
        let ids: Vec<_> = found
            .iter()
            .map(|r| r.as_ref().map(|c| c.conn_id.as_str()).map_err(|_| ()))
            .collect();
        assert_eq!(ids, vec![Ok("a"), Ok("kafka_default"), Err(())]);
        assert_eq!(env_key("kafka_default"), "AIRFLOW_CONN_KAFKA_DEFAULT");
    }
}
