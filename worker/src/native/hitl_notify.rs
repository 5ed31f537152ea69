//! Announcing human-in-the-loop requests (docs/hitl.md): the request's
//! notifiers (`notifiers=`; the HTTP provider's `HttpNotifier` runs
//! natively, other classes are reported as not called) and, with
//! `[hitl] kafka_topic`, a JSON event per request and per answer or
//! timeout. A notification that fails is written to the task log and never
//! fails the task: the request stands and the UI lists it.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use serde_json::{Value as Json, json};
use updraft_core::config::Settings;
use updraft_core::store::hitl::{Detail, Request};
use updraft_core::store::ti_state::TiRow;
use updraft_kafka::KafkaConfig;
use updraft_kafka::produce::{Producer, Record};

use crate::templates::ConnectionInfo;

/// A webhook that does not answer within this is given up.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// A Kafka event not acknowledged within this is given up.
pub const KAFKA_TIMEOUT: Duration = Duration::from_secs(10);

/// Where notifications go: `[webserver] base_url` (the respond link) and
/// `[hitl] kafka_topic` / `kafka_conn_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifySettings {
    pub base_url: Option<String>,
    pub kafka_topic: Option<String>,
    pub kafka_conn_id: String,
}

impl NotifySettings {
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            base_url: s.webserver.base_url.clone(),
            kafka_topic: s.hitl.kafka_topic.clone(),
            kafka_conn_id: s.hitl.kafka_conn_id.clone(),
        }
    }

    /// The respond link (Airflow's `generate_link_to_ui`): absolute with a
    /// `base_url`, else a path on the webserver.
    pub fn link(&self, ti_id: uuid::Uuid) -> String {
        format!(
            "{}/required-actions/{ti_id}",
            self.base_url.as_deref().unwrap_or("")
        )
    }
}

/// The `request` event: what the webhook posts and the Kafka topic gets.
pub fn request_event(ti: &TiRow, r: &Request, link: &str) -> Json {
    json!({
        "event": "request",
        "event_id": format!("{}:{}:request", ti.id, ti.try_number),
        "subject": r.subject,
        "body": r.body,
        "link": link,
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "try_number": ti.try_number,
        "ti_id": ti.id,
        "options": r.options,
        "defaults": r.defaults,
        "multiple": r.multiple,
        "assigned_users": r.assigned_users,
        "timeout_at": r.timeout_at.map(|t| t.to_rfc3339()),
    })
}

/// The `answered` (or `timed_out`) event of a closed request, with the
/// answer in the XCom's shape.
pub fn answer_event(d: &Detail, link: &str) -> Json {
    let event = if d.responded_by.is_some() {
        "answered"
    } else {
        "timed_out"
    };
    let mut e = json!({
        "event": event,
        "event_id": format!("{}:{}:{event}", d.ti_id, d.try_number),
        "subject": d.subject,
        "link": link,
        "dag_id": d.dag_id,
        "run_id": d.run_id,
        "task_id": d.task_id,
        "map_index": d.map_index,
        "try_number": d.try_number,
        "ti_id": d.ti_id,
    });
    if let (Json::Object(out), Json::Object(answer)) = (&mut e, d.xcom()) {
        out.extend(answer);
    }
    e
}

/// One of `notifiers=`, as the DAG file serialized it (`notifier_specs`:
/// `{"class": "module.Name", "kwargs": {…}}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Notifier {
    Http(HttpCall),
    /// A class Updraft does not run (its name): reported in the task log.
    NotRun(String),
}

/// An HTTP request to make (`HttpNotifier`).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    /// `json=` or `data=`; `None`: the request event is posted.
    pub body: Option<Vec<u8>>,
}

/// The notifiers of a task from its `notifier_specs` field; an
/// `HttpNotifier` whose connection is missing is an error in words.
pub fn notifiers(
    specs: Option<&Json>,
    connections: &HashMap<String, ConnectionInfo>,
) -> Vec<Result<Notifier, String>> {
    let Some(Json::Array(specs)) = specs else {
        return Vec::new();
    };
    specs
        .iter()
        .map(|spec| {
            let class = spec.get("class").and_then(Json::as_str).unwrap_or("?");
            let kwargs = spec.get("kwargs").cloned().unwrap_or_else(|| json!({}));
            if class.starts_with("airflow.providers.http.") && class.ends_with(".HttpNotifier") {
                http_call(&kwargs, connections).map(Notifier::Http)
            } else {
                Ok(Notifier::NotRun(class.to_owned()))
            }
        })
        .collect()
}

/// `HttpNotifier(http_conn_id="http_default", endpoint=None, method="POST",
/// data=None, json=None, headers=None)`: the URL from the connection (as
/// HttpHook builds it), its login as basic auth, its extra as headers.
fn http_call(
    kwargs: &Json,
    connections: &HashMap<String, ConnectionInfo>,
) -> Result<HttpCall, String> {
    let text = |k: &str| kwargs.get(k).and_then(Json::as_str).map(str::to_owned);
    let conn_id = text("http_conn_id").unwrap_or_else(|| "http_default".to_owned());
    let conn = connections.get(&conn_id).ok_or_else(|| {
        format!(
            "HttpNotifier: the conn_id `{conn_id}` isn't defined (add an http connection, e.g. \
             AIRFLOW_CONN_{}='http://host:port')",
            conn_id.to_uppercase()
        )
    })?;
    let host = conn.host.clone().unwrap_or_default();
    let base = if host.contains("://") {
        host
    } else {
        let scheme = conn
            .schema
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("http");
        format!("{scheme}://{host}")
    };
    let base = match conn.port {
        Some(p) if !base.rsplit('/').next().unwrap_or("").contains(':') => format!("{base}:{p}"),
        _ => base,
    };
    let endpoint = text("endpoint").unwrap_or_default();
    let url = match (base.ends_with('/'), endpoint.starts_with('/')) {
        _ if endpoint.is_empty() => base,
        (true, true) => format!("{base}{}", &endpoint[1..]),
        (false, false) => format!("{base}/{endpoint}"),
        _ => format!("{base}{endpoint}"),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut add_headers = |v: Option<&Json>| {
        for (k, v) in v.and_then(Json::as_object).into_iter().flatten() {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            headers.push((k.clone(), v));
        }
    };
    add_headers(Some(&conn.extra));
    add_headers(kwargs.get("headers"));
    if let Some(login) = conn.login.as_deref().filter(|l| !l.is_empty()) {
        let pair = format!("{login}:{}", conn.password.as_deref().unwrap_or(""));
        let b64 = base64::engine::general_purpose::STANDARD.encode(pair);
        headers.push(("Authorization".to_owned(), format!("Basic {b64}")));
    }
    let body = match (kwargs.get("json"), kwargs.get("data")) {
        (Some(j), _) if !j.is_null() => Some(j.to_string().into_bytes()),
        (_, Some(Json::String(s))) => Some(s.clone().into_bytes()),
        (_, Some(d)) if !d.is_null() => Some(d.to_string().into_bytes()),
        _ => None,
    };
    Ok(HttpCall {
        url,
        method: text("method").unwrap_or_else(|| "POST".to_owned()),
        headers,
        body,
    })
}

/// Makes the call (HTTP/1.1 over plain TCP), `event` as the JSON body when
/// the notifier gave none; a 2xx answer is success. What happened, in words.
pub async fn post(call: &HttpCall, event: &Json) -> Result<String, String> {
    tokio::time::timeout(WEBHOOK_TIMEOUT, send(call, event))
        .await
        .map_err(|_| {
            format!(
                "{} {}: no answer within {WEBHOOK_TIMEOUT:?}",
                call.method, call.url
            )
        })?
}

async fn send(call: &HttpCall, event: &Json) -> Result<String, String> {
    let what = format!("{} {}", call.method, call.url);
    let url = url::Url::parse(&call.url).map_err(|e| format!("{what}: bad URL: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "{what}: only http:// webhooks are supported (no TLS client is built in); \
             point the connection at an http relay"
        ));
    }
    let host = url.host_str().ok_or_else(|| format!("{what}: no host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("{what}: connecting: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("{what}: {e}"))?;
    let driver = tokio::spawn(conn);
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let host_header = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let body = call
        .body
        .clone()
        .unwrap_or_else(|| event.to_string().into_bytes());
    let mut req = hyper::Request::builder()
        .method(call.method.as_str())
        .uri(path)
        .header(hyper::header::HOST, host_header)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, "updraft-hitl-notifier");
    for (k, v) in &call.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("{what}: {e}"))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    let status = resp.status();
    let text = resp
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    driver.abort();
    if status.is_success() {
        Ok(format!("{what}: {status}"))
    } else {
        let snippet: String = text.chars().take(200).collect();
        Err(format!("{what}: {status} {snippet}"))
    }
}

/// Publishes `event` to the topic through the connection, keyed by the task
/// instance id (one partition per request: its events stay in order), and
/// waits for the broker's acknowledgement.
pub async fn publish(
    conn_id: &str,
    conn: Option<&ConnectionInfo>,
    topic: &str,
    event: &Json,
) -> Result<String, String> {
    let conn =
        conn.ok_or_else(|| format!("[hitl] kafka_conn_id: the conn_id `{conn_id}` isn't defined"))?;
    let config = KafkaConfig::from_connection(conn_id, conn.conn_type.as_deref(), &conn.extra)
        .map_err(|e| e.to_string())?;
    let mut producer = Producer::new(&config).map_err(|e| e.to_string())?;
    let key = event
        .get("ti_id")
        .and_then(Json::as_str)
        .map(|s| s.as_bytes().to_vec());
    let record = Record {
        key,
        value: Some(event.to_string().into_bytes()),
        headers: Vec::new(),
    };
    let name = event.get("event").and_then(Json::as_str).unwrap_or("event");
    let mut done = Vec::new();
    let delivered = tokio::time::timeout(KAFKA_TIMEOUT, async {
        producer.partitions(topic, KAFKA_TIMEOUT).await?;
        producer.send(topic, 0, &record, &mut done).await?;
        Ok::<_, updraft_kafka::produce::ProduceError>(match done.pop() {
            Some(d) => Some(d),
            None => producer.next_delivery().await,
        })
    })
    .await
    .map_err(|_| {
        format!("HITL {name} event to topic {topic:?}: not acknowledged within {KAFKA_TIMEOUT:?}")
    })?
    .map_err(|e| format!("HITL {name} event: {e}"))?;
    match delivered.map(|d| d.result) {
        Some(Ok((partition, offset))) => Ok(format!(
            "HITL {name} event sent to topic {topic:?} (partition {partition}, offset {offset})"
        )),
        Some(Err(e)) => Err(format!("HITL {name} event to topic {topic:?}: {e}")),
        None => Err(format!(
            "HITL {name} event to topic {topic:?}: no delivery report"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(host: &str, port: Option<u16>) -> ConnectionInfo {
        ConnectionInfo {
            conn_type: Some("http".to_owned()),
            host: Some(host.to_owned()),
            login: Some("u".to_owned()),
            password: Some("p".to_owned()),
            port,
            schema: None,
            extra: json!({"X-Team": "ops"}),
        }
    }

    #[test]
    fn http_notifier_builds_its_url_from_the_connection() {
        let conns = HashMap::from([("hook".to_owned(), conn("example.org", Some(8080)))]);
        let specs = json!([
            {"class": "airflow.providers.http.notifications.http.HttpNotifier",
             "kwargs": {"http_conn_id": "hook", "endpoint": "/hitl", "headers": {"X-A": "1"}}},
            {"class": "my.module.SlackNotifier", "kwargs": {}},
            {"class": "airflow.providers.http.notifications.HttpNotifier",
             "kwargs": {"http_conn_id": "missing"}},
        ]);
        let got = notifiers(Some(&specs), &conns);
        let Ok(Notifier::Http(call)) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(call.url, "http://example.org:8080/hitl");
        assert_eq!(call.method, "POST");
        assert!(
            call.headers
                .contains(&("X-Team".to_owned(), "ops".to_owned()))
        );
        assert!(call.headers.contains(&("X-A".to_owned(), "1".to_owned())));
        assert!(
            call.headers
                .iter()
                .any(|(k, v)| k == "Authorization" && v == "Basic dTpw")
        );
        assert_eq!(call.body, None);
        assert_eq!(
            got[1],
            Ok(Notifier::NotRun("my.module.SlackNotifier".to_owned()))
        );
        assert!(got[2].as_ref().is_err_and(|e| e.contains("`missing`")));
    }

    #[test]
    fn the_link_uses_base_url_when_set() {
        let id = uuid::Uuid::nil();
        let mut s = NotifySettings::default();
        assert_eq!(s.link(id), format!("/required-actions/{id}"));
        s.base_url = Some("https://updraft.example".to_owned());
        assert_eq!(
            s.link(id),
            format!("https://updraft.example/required-actions/{id}")
        );
    }
}
