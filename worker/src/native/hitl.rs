//! Human in the loop (Airflow 3.1's HITLOperator, ApprovalOperator,
//! HITLBranchOperator, HITLEntryOperator), without a triggerer: the first
//! run of a try writes the request and defers (no slot held); an answer or
//! the timeout makes the deferral due, and the resumed try (same try
//! number) reads the answer and ends as the operator's `execute_complete`
//! would. docs/adr/0007-hitl.md.

use chrono::{TimeDelta, Utc};
use serde_json::{Map, Value as Json, json};
use updraft_core::deps::branch::BranchGraph;
use updraft_core::store::hitl::{self, Detail, Request};

use super::hitl_notify::{self, Notifier};
use super::{field, seconds_of};
use crate::dispatch::TryCtx;
use crate::outcome::{AfterStore, Ended, Outcome};

/// `hitl`, `hitl_approval`, `hitl_branch`, `hitl_entry`.
pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    match step(cx).await {
        Ok(o) => o,
        Err(msg) => super::fail(cx, &msg),
    }
}

async fn step(cx: &TryCtx<'_>) -> Result<Outcome, String> {
    let mut conn = cx.conn().await?;
    let db = |e: updraft_core::Error| format!("database: {e}");
    let found = hitl::get(&mut conn, cx.ti.id).await.map_err(db)?;
    let Some(detail) = found.filter(|d| d.try_number == cx.ti.try_number) else {
        let request = request(cx)?;
        cx.sink.info(&format!(
            "Waiting for a response to {:?} (options {:?}); the task is deferred",
            request.subject, request.options
        ));
        let announce = announce_request(cx, &request);
        let mut out = Outcome::of(Ended::Defer {
            timeout_at: request.timeout_at,
            request: Some(Box::new(request)),
        });
        out.after_store = Some(announce);
        return Ok(out);
    };
    if detail.responded_at.is_some() {
        announce_answer(cx, &detail).await;
        return Ok(complete(cx, &detail));
    }
    let due = detail.timeout_at.filter(|at| *at <= Utc::now());
    if detail.timed_out || due.is_some() {
        let after = hitl::time_out(&mut conn, cx.ti.id, &default_params(&detail.params))
            .await
            .map_err(db)?;
        let detail = match after {
            Some(d) => d,
            // Answered in the meantime: the answer stands.
            None => hitl::get(&mut conn, cx.ti.id)
                .await
                .map_err(db)?
                .ok_or("the request disappeared")?,
        };
        announce_answer(cx, &detail).await;
        if detail.responded_at.is_none() {
            return Err(
                "HITLTimeoutError: the response timed out and there are no defaults".into(),
            );
        }
        if detail.responded_by.is_none() {
            cx.sink
                .info("The response timed out; the defaults are chosen");
        }
        return Ok(complete(cx, &detail));
    }
    // Resumed without an answer (cleared and re-run): wait on.
    Ok(Outcome::of(Ended::Defer {
        timeout_at: detail.timeout_at,
        request: None,
    }))
}

/// The request's notifiers and Kafka event, run once the request is stored
/// (`AfterStore`: a try whose deferral was not written announces nothing).
/// Failures are logged, never the task's.
fn announce_request(cx: &TryCtx<'_>, request: &Request) -> AfterStore {
    let settings = &cx.env.hitl;
    let event = hitl_notify::request_event(cx.ti, request, &settings.link(cx.ti.id));
    let connections = &cx.prepared.data.connections;
    let notifiers = hitl_notify::notifiers(field(cx, "notifier_specs"), connections);
    let kafka = settings.kafka_topic.clone().map(|topic| {
        let conn_id = settings.kafka_conn_id.clone();
        let conn = connections.get(&conn_id).cloned();
        (topic, conn_id, conn)
    });
    AfterStore::new(move || {
        let (event, notifiers, kafka) = (event.clone(), notifiers.clone(), kafka.clone());
        Box::pin(async move {
            let mut done = Vec::new();
            let mut failed = Vec::new();
            for n in notifiers {
                match n {
                    Ok(Notifier::Http(call)) => match hitl_notify::post(&call, &event).await {
                        Ok(line) => done.push(format!("HttpNotifier: {line}")),
                        Err(e) => failed.push(format!("HttpNotifier failed: {e}")),
                    },
                    Ok(Notifier::NotRun(class)) => failed.push(format!(
                        "Notifier {class} was not called: Updraft runs the HTTP provider's \
                         HttpNotifier natively and calls no other notifier class (docs/hitl.md)"
                    )),
                    Err(e) => failed.push(e),
                }
            }
            if let Some((topic, conn_id, conn)) = kafka {
                match hitl_notify::publish(&conn_id, conn.as_ref(), &topic, &event).await {
                    Ok(line) => done.push(line),
                    Err(e) => failed.push(e),
                }
            }
            let done = if done.is_empty() {
                "No notifier called".to_owned()
            } else {
                done.join("; ")
            };
            if failed.is_empty() {
                Ok(done)
            } else {
                Err(format!(
                    "{done}. Not notified (the request stands): {}",
                    failed.join("; ")
                ))
            }
        })
    })
}

/// The `answered` / `timed_out` Kafka event, sent by the resumed try
/// before it ends: the answer is in the database by then, and a try that
/// dies before its final write runs again and sends it again (at least
/// once; `event_id` tells the copies apart).
async fn announce_answer(cx: &TryCtx<'_>, d: &Detail) {
    let settings = &cx.env.hitl;
    let Some(topic) = &settings.kafka_topic else {
        return;
    };
    let event = hitl_notify::answer_event(d, &settings.link(cx.ti.id));
    let conn = cx.prepared.data.connections.get(&settings.kafka_conn_id);
    match hitl_notify::publish(&settings.kafka_conn_id, conn, topic, &event).await {
        Ok(line) => cx.sink.info(&line),
        Err(e) => cx.sink.error(&format!("{e} (the answer stands)")),
    }
}

/// The request from the rendered fields.
fn request(cx: &TryCtx<'_>) -> Result<Request, String> {
    let strings = |name: &str| -> Option<Vec<String>> {
        let v = field(cx, name)?;
        match v {
            Json::String(s) => Some(vec![s.clone()]),
            Json::Array(a) => Some(
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        }
    };
    let options = strings("options")
        .filter(|o| !o.is_empty())
        .ok_or("\"options\" cannot be empty.")?;
    let timeout_at = match field(cx, "response_timeout") {
        Some(v) => {
            let secs = seconds_of(v)?;
            Some(Utc::now() + TimeDelta::milliseconds((secs * 1000.0) as i64))
        }
        None => None,
    };
    let assigned_users = match field(cx, "assigned_users") {
        Some(Json::Array(a)) => Json::Array(a.clone()),
        Some(o @ Json::Object(_)) => Json::Array(vec![o.clone()]),
        _ => json!([]),
    };
    Ok(Request {
        ti_id: cx.ti.id,
        try_number: cx.ti.try_number,
        subject: text(field(cx, "subject")),
        body: field(cx, "body").map(|b| text(Some(b))),
        options,
        defaults: strings("defaults"),
        multiple: field(cx, "multiple")
            .and_then(Json::as_bool)
            .unwrap_or(false),
        params: form_params(field(cx, "params")),
        assigned_users,
        timeout_at,
    })
}

fn text(v: Option<&Json>) -> String {
    match v {
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// The form: each param as `{"value", "description", "schema"}` (tagged
/// `Param`s unwrapped, plain values wrapped).
pub fn form_params(v: Option<&Json>) -> Json {
    let mut out = Map::new();
    let entries = match v {
        Some(Json::Object(m)) => match (m.get("__type"), m.get("__var")) {
            (Some(_), Some(Json::Object(inner))) => inner.clone(),
            _ => m.clone(),
        },
        _ => Map::new(),
    };
    for (k, p) in entries {
        let p = match &p {
            Json::Object(m) if m.get("__type").and_then(Json::as_str) == Some("param") => {
                m.get("__var").cloned().unwrap_or(Json::Null)
            }
            other => other.clone(),
        };
        let p = match p {
            Json::Object(m) if m.contains_key("value") || m.contains_key("schema") => {
                Json::Object(m)
            }
            value => json!({"value": value, "description": null, "schema": {}}),
        };
        out.insert(k, p);
    }
    Json::Object(out)
}

/// The form's default values, `{name: value}`.
fn default_params(params: &Json) -> Json {
    let m = params.as_object().cloned().unwrap_or_default();
    Json::Object(
        m.into_iter()
            .map(|(k, p)| (k, p.get("value").cloned().unwrap_or(Json::Null)))
            .collect(),
    )
}

/// `execute_complete`: the answer as XCom, and the operator's effect.
fn complete(cx: &TryCtx<'_>, d: &Detail) -> Outcome {
    let chosen = d.chosen_options.clone().unwrap_or_default();
    cx.sink.info(&format!(
        "Response: {chosen:?} by {}",
        d.responded_by
            .as_ref()
            .map_or("nobody (timed out)".to_owned(), Json::to_string)
    ));
    let mut out = Outcome::success(Some(d.xcom()));
    let graph = || BranchGraph::from_serialized(&cx.task.dag);
    match cx.kind() {
        "hitl_approval" => {
            if chosen.iter().any(|c| c == "Approve") {
                return out;
            }
            if field(cx, "fail_on_reject").and_then(Json::as_bool) == Some(true) {
                cx.sink.error("HITLRejectException: Rejected");
                return Outcome::failed();
            }
            let ignore = field(cx, "ignore_downstream_trigger_rules")
                .and_then(Json::as_bool)
                .unwrap_or(false);
            match graph() {
                Ok(g) => out.skip = g.short_circuit_skips(&cx.ti.task_id, ignore),
                Err(e) => return super::fail(cx, &e),
            }
            cx.sink.info(&format!("Rejected: skipping {:?}", out.skip));
        }
        "hitl_branch" => {
            let mapping = field(cx, "options_mapping").and_then(Json::as_object);
            let followed: Vec<String> = chosen
                .iter()
                .map(|c| {
                    mapping
                        .and_then(|m| m.get(c))
                        .and_then(Json::as_str)
                        .unwrap_or(c)
                        .to_owned()
                })
                .collect();
            match graph().and_then(|g| g.branch_skips(&cx.ti.task_id, &followed)) {
                Ok(skip) => out.skip = skip,
                Err(e) => return super::fail(cx, &e),
            }
            cx.sink
                .info(&format!("Following {followed:?}; skipping {:?}", out.skip));
        }
        _ => {}
    }
    out
}
