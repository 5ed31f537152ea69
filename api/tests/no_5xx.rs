//! Every operation of the OpenAPI document, called with odd path segments,
//! odd query values and odd bodies, answers a status below 500: bad input
//! is the client's error, never a crash (issue 6: "never a 500").

mod common;

use axum::body::Body;
use axum::http::{Request, header};
use common::{Api, chain_dag};
use serde_json::{Value, json};

const SEGMENTS: &[&str] = &[
    "d",
    "~",
    "-1",
    "x%20y",
    "%C3%BC",
    "0",
    "99999999999999999999",
    "a%00b",
];
const QUERIES: &[&str] = &[
    "",
    "limit=-5&offset=x",
    "order_by=-&state=%00",
    "limit=99999999999999999999",
    "logical_date_gte=2026-13-45&paused=2",
    "map_index=abc&deserialize=perhaps",
    "tags=a%00b&dag_id=x%00&dag_id_pattern=%00",
];

fn bodies() -> Vec<Option<String>> {
    vec![
        None,
        Some("{}".to_owned()),
        Some("[]".to_owned()),
        Some("null".to_owned()),
        Some("{\"logical_date\": 5, \"is_paused\": \"x\", \"slots\": 1e99}".to_owned()),
        Some("\u{0}garbage".to_owned()),
        // Valid JSON whose strings PostgreSQL cannot store.
        Some(
            json!({"key": "k\u{0}", "value": "v\u{0}", "name": "p\u{0}", "slots": 1,
                    "description": "\u{0}", "dag_id": "d", "dag_run_id": "r\u{0}",
                    "logical_date": null, "conf": {"\u{0}": "\u{0}"},
                    "chosen_options": ["\u{0}"], "from_date": "2026-01-01T00:00:00Z",
                    "to_date": "2026-01-02T00:00:00Z", "dag_run_conf": {"a": "\u{0}"}})
            .to_string(),
        ),
        Some(
            json!({"key": "k", "value": {"deep": [1, {"x": null}]}, "name": "n", "slots": -2,
                    "connection_id": "c", "conn_type": "t", "port": 99999, "task_ids": [[1, 2]],
                    "dag_run_id": "~", "logical_date": null, "conf": []})
            .to_string(),
        ),
    ]
}

// Invariant: no combination of odd input reaches a 5xx.
#[tokio::test]
async fn odd_input_never_gets_a_5xx() {
    let api = Api::new().await;
    api.store_dag(&chain_dag("d", &["t"])).await;
    let token = api.token_for("Admin").await;
    let doc = serde_json::to_value(updraft_api::openapi()).expect("document");
    let paths = doc["paths"].as_object().expect("paths");
    let mut calls = 0;
    for (template, item) in paths {
        for (method, _) in item.as_object().into_iter().flatten() {
            for (i, segment) in SEGMENTS.iter().enumerate() {
                let path = fill(template, segment);
                let query = QUERIES[i % QUERIES.len()];
                for body in bodies() {
                    let uri = if query.is_empty() {
                        path.clone()
                    } else {
                        format!("{path}?{query}")
                    };
                    let mut req = Request::builder()
                        .method(method.to_uppercase().as_str())
                        .uri(&uri)
                        .header(header::AUTHORIZATION, format!("Bearer {token}"));
                    if body.is_some() {
                        req = req.header(header::CONTENT_TYPE, "application/json");
                    }
                    let req = req
                        .body(body.clone().map_or_else(Body::empty, Body::from))
                        .expect("request");
                    let r = api.send(req).await;
                    calls += 1;
                    assert!(
                        r.status.as_u16() < 500,
                        "{method} {uri} with {body:?}: {} {}",
                        r.status,
                        r.text
                    );
                    if r.status.is_client_error() && r.status.as_u16() != 405 {
                        assert!(
                            !r.body["detail"].is_null(),
                            "{method} {uri}: no detail: {}",
                            r.text
                        );
                    }
                }
            }
        }
    }
    assert!(calls > 500, "only {calls} calls: is the document empty?");
    let _: Value = doc;
}

/// The template with every `{param}` replaced by `segment`.
fn fill(template: &str, segment: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str(segment);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
