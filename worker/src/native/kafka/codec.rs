//! How Kafka messages cross to the Python task runner (base64 bytes in JSON,
//! docs: worker/src/python_runner/session.rs) and how the article's consume
//! operator shows them in its XCom.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value as Json, json};
use updraft_kafka::consume::Message;
use updraft_kafka::produce::Record;

pub fn b64(bytes: Option<&[u8]>) -> Json {
    bytes.map_or(Json::Null, |b| Json::String(STANDARD.encode(b)))
}

/// A base64 string (or null) from the runner; an error names the problem.
pub fn unb64(v: &Json) -> Result<Option<Vec<u8>>, String> {
    match v {
        Json::Null => Ok(None),
        Json::String(s) => STANDARD
            .decode(s)
            .map(Some)
            .map_err(|e| format!("a record from the producer function is not base64: {e}")),
        other => Err(format!(
            "a record's key or value must be base64 or null, got {other}"
        )),
    }
}

/// A consumed message as the runner's `Message` is built from it.
pub fn message_to_runner(m: &Message) -> Json {
    json!({
        "topic": m.topic,
        "partition": m.partition,
        "offset": m.offset,
        "key": b64(m.key.as_deref()),
        "value": b64(m.value.as_deref()),
        "headers": m.headers.as_ref().map(|hs| hs.iter()
            .map(|(k, v)| json!([k, b64(v.as_deref())]))
            .collect::<Vec<_>>()),
        "timestamp": [m.timestamp.0, m.timestamp.1],
    })
}

/// `{"records": [[key, value], ...]}` from the runner.
pub fn records_from_runner(line: &Json) -> Result<Vec<Record>, String> {
    let items = line
        .get("records")
        .and_then(Json::as_array)
        .ok_or_else(|| format!("unexpected line from the producer function's runner: {line}"))?;
    items
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([k, v]) => Ok(Record {
                key: unb64(k)?,
                value: unb64(v)?,
                headers: Vec::new(),
            }),
            _ => Err(format!("a record must be a [key, value] pair, got {pair}")),
        })
        .collect()
}

/// Bytes as text for a log or an XCom: JSON when they are JSON, else UTF-8
/// (invalid sequences replaced).
pub fn decoded(bytes: Option<&[u8]>) -> Json {
    match bytes {
        None => Json::Null,
        Some(b) => serde_json::from_slice(b)
            .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(b).into_owned())),
    }
}

/// One message in KafkaConsumeOperator's XCom: its value decoded (JSON
/// when it is JSON, else text), key as text, and where it came from.
pub fn message_to_xcom(m: &Message) -> Json {
    json!({
        "topic": m.topic,
        "partition": m.partition,
        "offset": m.offset,
        "key": m.key.as_deref().map(|k| String::from_utf8_lossy(k).into_owned()),
        "value": decoded(m.value.as_deref()),
        "timestamp": (m.timestamp.0 != 0).then_some(m.timestamp.1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Records from the runner decode; a bad pair is refused with a reason.
    #[test]
    fn records_decode() {
        let line = json!({"records": [[null, b64(Some(b"v1"))], [b64(Some(b"k")), null]]});
        let recs = records_from_runner(&line).expect("records");
        assert_eq!(recs[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(recs[0].key, None);
        assert_eq!(recs[1].key.as_deref(), Some(&b"k"[..]));
        assert!(records_from_runner(&json!({"records": [[1]]})).is_err());
        assert!(records_from_runner(&json!({"records": [["%%", null]]})).is_err());
        assert!(records_from_runner(&json!({"other": 1})).is_err());
    }

    // XCom values are JSON when the bytes are JSON, else text.
    #[test]
    fn xcom_values_are_decoded() {
        let m = Message {
            topic: "t".into(),
            partition: 1,
            offset: 7,
            key: Some(b"FEAT-1".to_vec()),
            value: Some(br#"{"summary": "login"}"#.to_vec()),
            headers: None,
            timestamp: (1, 1000),
        };
        let x = message_to_xcom(&m);
        assert_eq!(x["value"]["summary"], "login");
        assert_eq!(x["key"], "FEAT-1");
        assert_eq!(x["timestamp"], 1000);
        assert_eq!(decoded(Some(b"plain text")), json!("plain text"));
        let r = message_to_runner(&m);
        assert_eq!(unb64(&r["value"]).expect("b64"), m.value);
    }
}
