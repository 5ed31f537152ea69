//! The action pages through the router on a real PostgreSQL database of
//! each test's own: triggering with params, clearing and marking task
//! instances, the audit log page; CSRF and the role of every user on every
//! state-changing route.

mod common;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use common::{SCHEDULE, Site, location, text};
use serde_json::{Value, json};
use updraft_core::model::SerializedDag;
use updraft_core::store::dags::{self, DagSource, DagUpsert};
use updraft_scheduler::runs::{self, ManualTrigger};
use updraft_webserver::{Action, Role, allowed};

/// A signed-in browser: its session cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

/// A site with the `params_dag` stored.
async fn site() -> Site {
    let site = Site::new().await;
    site.store_dag(&params_dag()).await;
    site
}

impl Site {
    /// Stores `data` as the parse child would have.
    async fn store_dag(&self, data: &Value) {
        let dag: SerializedDag = serde_json::from_value(data.clone()).expect("serialized dag");
        let text = data.to_string();
        let mut tx = self.pool().begin().await.expect("tx");
        dags::lock_for_versioning(&mut tx).await.expect("lock");
        dags::store_parsed(
            &mut tx,
            &[DagUpsert {
                dag,
                dag_hash: format!("{:x}", text.len()),
                data: text,
                relative_fileloc: "p.py".into(),
                source_hash: "src".into(),
                warnings: Vec::new(),
            }],
            &[DagSource {
                source_hash: "src".into(),
                fileloc: "/dags/p.py".into(),
                source_code: "# p".into(),
            }],
            false,
        )
        .await
        .expect("store dag");
        tx.commit().await.expect("commit");
    }

    async fn sign_in_as(&self, role: Role) -> Browser {
        let username = format!("u_{}", role.name().to_lowercase());
        self.user(&username, "pw", role.name()).await;
        let (cookie, csrf) = self.login(&username, "pw").await;
        Browser { cookie, csrf }
    }

    /// Posts `form` with the browser's CSRF token added.
    async fn submit(&self, b: &Browser, path: &str, form: &[(&str, &str)]) -> Response<Body> {
        let mut all = vec![("csrf_token", b.csrf.as_str())];
        all.extend_from_slice(form);
        self.post(path, Some(&b.cookie), &all).await
    }

    async fn runs(&self) -> Vec<(String, Value)> {
        sqlx::query_as("SELECT run_id, conf FROM dag_run WHERE dag_id = 'p' ORDER BY id")
            .fetch_all(self.pool())
            .await
            .expect("runs")
    }

    /// A manual run of `p` made directly (not through the UI).
    async fn run(&self, run_id: &str, at: &str) {
        runs::trigger(
            self.pool(),
            &SCHEDULE,
            &ManualTrigger {
                dag_id: "p".into(),
                conf: json!({}),
                logical_date: Some(at.parse().expect("date")),
                run_id: Some(run_id.into()),
                triggered_by: "cli",
                audit_owner: None,
            },
            chrono::Utc::now(),
        )
        .await
        .expect("trigger");
    }

    async fn set_state(&self, run_id: &str, task_id: &str, state: Option<&str>) {
        sqlx::query(
            "UPDATE task_instance SET state = $3 WHERE dag_id = 'p' AND run_id = $1 AND task_id = $2",
        )
        .bind(run_id)
        .bind(task_id)
        .bind(state)
        .execute(self.pool())
        .await
        .expect("set state");
    }

    async fn states(&self, run_id: &str) -> Vec<(String, Option<String>)> {
        sqlx::query_as(
            "SELECT task_id, state FROM task_instance WHERE dag_id = 'p' AND run_id = $1
              ORDER BY task_id",
        )
        .bind(run_id)
        .fetch_all(self.pool())
        .await
        .expect("states")
    }

    async fn audit_events(&self) -> Vec<(String, Option<String>)> {
        sqlx::query_as("SELECT event, owner FROM audit_log ORDER BY id")
            .fetch_all(self.pool())
            .await
            .expect("audit")
    }
}

/// DAG `p`: tasks a >> b >> c, and one param of each kind.
fn params_dag() -> Value {
    let task = |id: &str, up: &[&str], down: &[&str]| {
        json!({"task_id": id, "task_type": "EmptyOperator", "operator_kind": "empty",
               "upstream_task_ids": up, "downstream_task_ids": down})
    };
    json!({
        "dag_id": "p", "fileloc": "/dags/p.py", "schedule": {"type": "none"},
        "start_date": "2026-01-01T00:00:00+00:00",
        "params": {
            "count": {"value": 3, "description": "How many", "schema": {"type": "integer", "minimum": 1}},
            "name": {"value": "x", "description": null, "schema": {"type": "string", "minLength": 1}},
            "color": {"value": "red", "description": null, "schema": {"enum": ["red", "blue"]}},
            "dry": {"value": false, "description": null, "schema": {"type": "boolean"}},
            "opts": {"value": {"k": 1}, "description": null, "schema": {"type": "object"}},
            "needed": {"value": null, "description": "no default", "schema": {"type": "string"}}
        },
        "tasks": [task("a", &[], &["b"]), task("b", &["a"], &["c"]), task("c", &["b"], &[])]
    })
}

/// A form's fields.
type Form = &'static [(&'static str, &'static str)];

/// A valid trigger form (every param filled).
const GOOD: &[(&str, &str)] = &[
    ("param:count", "7"),
    ("param:name", "ada"),
    ("param:color", "\"blue\""),
    ("param:dry", "true"),
    ("param:opts", "{\"k\": 2}"),
    ("param:needed", "yes"),
];

// Invariant: the form offers each param with the widget its schema calls for.
#[tokio::test]
async fn trigger_form_is_generated_from_params() {
    let site = site().await;
    let b = site.sign_in_as(Role::User).await;
    let res = site.get("/dags/p/trigger", Some(&b.cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = text(res).await;
    for want in [
        r#"data-testid="trigger-form""#,
        r#"type="number" step="1" id="param-count" name="param:count" value="3""#,
        r#"type="text" id="param-name" name="param:name" value="x""#,
        r#"<select id="param-color" name="param:color""#,
        r#"<option value="&#34;red&#34;" selected>red</option>"#,
        r#"type="checkbox" id="param-dry" name="param:dry" value="true" data-testid"#,
        r#"data-testid="param-opts">{&#34;k&#34;:1}</textarea>"#,
        "How many",
        r#"data-testid="conf""#,
        r#"data-testid="trigger-submit""#,
    ] {
        assert!(html.contains(want), "{want}\n{html}");
    }
    assert!(!html.contains(r#"data-testid="field-error""#));
    let missing = site.get("/dags/nope/trigger", Some(&b.cookie)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

// Invariant: values against the params' schemas are refused field by
// field, with 400, and no run is created.
#[tokio::test]
async fn trigger_refuses_bad_values_next_to_their_fields() {
    let site = site().await;
    let b = site.sign_in_as(Role::User).await;
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "param:count",
            "0",
            "count",
            "0 is less than the minimum of 1",
        ),
        (
            "param:count",
            "2.5",
            "count",
            "&#39;2.5&#39; is not an integer",
        ),
        (
            "param:name",
            "",
            "name",
            "None is not of type &#39;string&#39;",
        ),
        (
            "param:color",
            "\"green\"",
            "color",
            "&#39;green&#39; is not one of",
        ),
        (
            "param:opts",
            "[1]",
            "opts",
            "is not of type &#39;object&#39;",
        ),
        (
            "param:needed",
            "",
            "needed",
            "None is not of type &#39;string&#39;",
        ),
        ("conf", "[1]", "conf", "The conf must be a JSON object."),
        (
            "conf",
            "{\"count\": \"many\"}",
            "count",
            "&#39;many&#39; is not of type &#39;integer&#39;",
        ),
        (
            "logical_date",
            "someday",
            "logical_date",
            "is not an ISO 8601",
        ),
    ];
    for (field, value, shown_at, message) in cases {
        let mut form: Vec<(&str, &str)> =
            GOOD.iter().filter(|(k, _)| k != field).copied().collect();
        form.push((field, value));
        let res = site.submit(&b, "/dags/p/trigger", &form).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{field}={value}");
        let html = text(res).await;
        let error = html
            .split(&format!(
                r#"data-testid="field-error" data-field="{shown_at}">"#
            ))
            .nth(1)
            .and_then(|s| s.split("</p>").next())
            .unwrap_or_else(|| panic!("no error at {shown_at} for {field}={value}:\n{html}"));
        assert!(error.contains(message), "{field}={value}: {error}");
        // The other values are kept in the form.
        if *field != "param:name" {
            assert!(html.contains(r#"value="ada""#), "{html}");
        }
    }
    assert!(site.runs().await.is_empty());
}

// Invariant: a valid form creates one queued run through the scheduler's
// trigger with the params' values (and the extra conf keys) as its conf,
// audited under the user's name, and sends the browser to the DAG's grid.
#[tokio::test]
async fn trigger_creates_the_run_with_its_conf() {
    let site = site().await;
    let b = site.sign_in_as(Role::User).await;
    let mut form = GOOD.to_vec();
    form.push(("conf", "{\"extra\": [1, 2]}"));
    form.push(("logical_date", "2026-02-03T04:05"));
    let res = site.submit(&b, "/dags/p/trigger", &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", text(res).await);
    assert_eq!(location(&res), "/dags/p/grid");
    let runs = site.runs().await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0, "manual__2026-02-03T04:05:00+00:00");
    assert_eq!(
        runs[0].1,
        json!({"count": 7, "name": "ada", "color": "blue", "dry": true, "opts": {"k": 2},
               "needed": "yes", "extra": [1, 2]})
    );
    let (state, triggered_by, tis): (String, String, i64) = sqlx::query_as(
        "SELECT r.state, r.triggered_by, (SELECT count(*) FROM task_instance t WHERE t.run_id = r.run_id)
           FROM dag_run r WHERE r.dag_id = 'p'",
    )
    .fetch_one(site.pool())
    .await
    .expect("run");
    assert_eq!(
        (state.as_str(), triggered_by.as_str(), tis),
        ("queued", "ui", 3)
    );
    let audit: (String, String, Value) =
        sqlx::query_as("SELECT event, owner, extra FROM audit_log WHERE dag_id = 'p'")
            .fetch_one(site.pool())
            .await
            .expect("one audit row");
    assert_eq!(audit.0, "trigger_dag_run");
    assert_eq!(audit.1, "u_user");
    assert_eq!(audit.2["run_id"], json!(runs[0].0));
    // The same run id again: refused, shown on the form.
    let again = site.submit(&b, "/dags/p/trigger", &form).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(text(again).await.contains("already exists"));
    assert_eq!(site.runs().await.len(), 1);
}

// Invariant: without this session's CSRF token nothing changes (403).
#[tokio::test]
async fn csrf_is_refused_on_every_action() {
    let site = site().await;
    site.run("r1", "2026-01-05T00:00:00Z").await;
    site.set_state("r1", "a", Some("failed")).await;
    let b = site.sign_in_as(Role::Admin).await;
    for path in [
        "/dags/p/trigger",
        "/dags/p/runs/r1/tasks/a/clear",
        "/dags/p/runs/r1/tasks/a/mark",
    ] {
        for token in ["", "wrong"] {
            let mut form = GOOD.to_vec();
            form.push(("state", "success"));
            form.push(("csrf_token", token));
            let res = site.post(path, Some(&b.cookie), &form).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} {token:?}");
        }
    }
    assert_eq!(site.runs().await.len(), 1);
    assert_eq!(site.states("r1").await[0].1.as_deref(), Some("failed"));
    assert!(site.audit_events().await.is_empty());
}

// Invariant: every state-changing route answers each role as the one
// permission table says: refused (403, nothing changed) or done.
#[tokio::test]
async fn every_action_route_checks_the_role() {
    let site = site().await;
    let routes: &[(&str, Action, Form)] = &[
        ("/dags/p/trigger", Action::TriggerDagRuns, GOOD),
        (
            "/dags/p/runs/r1/tasks/a/clear",
            Action::EditTaskInstances,
            &[],
        ),
        (
            "/dags/p/runs/r1/tasks/a/mark",
            Action::EditTaskInstances,
            &[("state", "success")],
        ),
    ];
    let mut n = 0;
    for role in Role::ALL {
        let b = site.sign_in_as(role).await;
        // The DAG list links to the trigger form only for those who may use it.
        let home = text(site.get("/home", Some(&b.cookie)).await).await;
        assert_eq!(
            home.contains(r#"href="/dags/p/trigger" data-testid="trigger-link""#),
            allowed(role, Action::TriggerDagRuns),
            "{role}"
        );
        for (path, action, form) in routes {
            n += 1;
            let run_id = format!("r{n}");
            site.run(&run_id, &format!("2026-01-01T00:{n:02}:00Z"))
                .await;
            site.set_state(&run_id, "a", Some("failed")).await;
            let path = path.replace("/r1/", &format!("/{run_id}/"));
            let mut form = form.to_vec();
            let rid = format!("ui_{n}");
            form.push(("run_id", &rid));
            let before = site.runs().await.len();
            let res = site.submit(&b, &path, &form).await;
            let a_state = site.states(&run_id).await[0].1.clone();
            if allowed(role, *action) {
                assert_eq!(res.status(), StatusCode::SEE_OTHER, "{role} {path}");
                if *action == Action::TriggerDagRuns {
                    assert_eq!(site.runs().await.len(), before + 1);
                } else {
                    assert_ne!(a_state.as_deref(), Some("failed"), "{role} {path}");
                }
            } else {
                assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} {path}");
                let body = text(res).await;
                assert!(body.contains("Access denied"), "{body}");
                assert_eq!(site.runs().await.len(), before);
                assert_eq!(a_state.as_deref(), Some("failed"), "{role} {path}");
            }
            // The dry run is refused to the same roles.
            let dry = site
                .get(&format!("{path}?state=success"), Some(&b.cookie))
                .await;
            let dry_ok = dry.status() == StatusCode::OK;
            assert_eq!(dry_ok, allowed(role, *action), "GET {role} {path}");
        }
    }
}

// Invariant: the dry run lists what the options select; the clear then
// resets exactly those (with one audit row each, written by core) and
// requeues their run.
#[tokio::test]
async fn clear_resets_the_selected_task_instances() {
    let site = site().await;
    site.run("r1", "2026-01-05T00:00:00Z").await;
    site.run("r2", "2026-01-06T00:00:00Z").await;
    for run in ["r1", "r2"] {
        site.set_state(run, "a", Some("success")).await;
        site.set_state(run, "b", Some("failed")).await;
        site.set_state(run, "c", Some("upstream_failed")).await;
    }
    sqlx::query(
        "UPDATE dag_run SET state = 'failed', start_date = now(), end_date = now()
          WHERE dag_id = 'p'",
    )
    .execute(site.pool())
    .await
    .expect("fail runs");
    let b = site.sign_in_as(Role::User).await;
    let dry = text(
        site.get(
            "/dags/p/runs/r1/tasks/b/clear?downstream=true",
            Some(&b.cookie),
        )
        .await,
    )
    .await;
    let listed: Vec<&str> = dry
        .split(r#"data-testid="affected-ti" data-task-id=""#)
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert_eq!(listed, ["b", "c"], "{dry}");
    // Past and future reach the other run; upstream adds a.
    let dry = text(
        site.get(
            "/dags/p/runs/r1/tasks/b/clear?upstream=true&future=true",
            Some(&b.cookie),
        )
        .await,
    )
    .await;
    assert_eq!(
        dry.matches(r#"data-testid="affected-ti""#).count(),
        4,
        "{dry}"
    );

    let res = site
        .submit(
            &b,
            "/dags/p/runs/r1/tasks/b/clear",
            &[("downstream", "true")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dags/p/grid");
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        site.states("r1").await,
        [
            ("a".into(), s("success")),
            ("b".into(), None),
            ("c".into(), None)
        ]
    );
    assert_eq!(
        site.states("r2").await[1].1,
        s("failed"),
        "other run untouched"
    );
    let run_state: String =
        sqlx::query_scalar("SELECT state FROM dag_run WHERE dag_id = 'p' AND run_id = 'r1'")
            .fetch_one(site.pool())
            .await
            .expect("run");
    assert_eq!(run_state, "queued");
    let audit = site.audit_events().await;
    assert_eq!(
        audit,
        vec![("clear_task_instance".to_owned(), s("u_user")); 2],
        "one row per task instance"
    );

    // only_failed leaves the successful upstream task alone.
    let res = site
        .submit(
            &b,
            "/dags/p/runs/r2/tasks/c/clear",
            &[("upstream", "true"), ("only_failed", "true")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        site.states("r2").await,
        [
            ("a".into(), s("success")),
            ("b".into(), None),
            ("c".into(), None)
        ]
    );
}

// Invariant: mark sets the chosen final state on the selected task
// instances (one audit row each, from core), and only success/failed.
#[tokio::test]
async fn mark_sets_the_state() {
    let site = site().await;
    site.run("r1", "2026-01-05T00:00:00Z").await;
    site.run("r2", "2026-01-06T00:00:00Z").await;
    let b = site.sign_in_as(Role::User).await;
    let dry = site
        .get(
            "/dags/p/runs/r1/tasks/c/mark?state=success&upstream=true",
            Some(&b.cookie),
        )
        .await;
    assert_eq!(dry.status(), StatusCode::OK);
    assert_eq!(
        text(dry)
            .await
            .matches(r#"data-testid="affected-ti""#)
            .count(),
        3
    );
    let res = site
        .submit(
            &b,
            "/dags/p/runs/r1/tasks/c/mark",
            &[("state", "success"), ("upstream", "true")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        site.states("r1").await,
        [
            ("a".into(), s("success")),
            ("b".into(), s("success")),
            ("c".into(), s("success"))
        ]
    );
    assert_eq!(site.states("r2").await[0].1, None, "other run untouched");
    assert_eq!(
        site.audit_events().await,
        vec![("mark_task_instance_success".to_owned(), s("u_user")); 3]
    );
    // Failed, into the past from r2: a of both runs.
    let res = site
        .submit(
            &b,
            "/dags/p/runs/r2/tasks/a/mark",
            &[("state", "failed"), ("past", "true")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(site.states("r1").await[0].1, s("failed"));
    assert_eq!(site.states("r2").await[0].1, s("failed"));
    assert_eq!(site.states("r2").await[1].1, None);
    let bad = site
        .submit(&b, "/dags/p/runs/r2/tasks/a/mark", &[("state", "running")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

// Invariant: the audit log lists rows newest first, filtered exactly, paged.
#[tokio::test]
async fn audit_log_filters_and_pages() {
    let site = site().await;
    for i in 0..55 {
        sqlx::query(
            "INSERT INTO audit_log (dttm, event, owner, dag_id) VALUES (now() - make_interval(secs => $1), $2, $3, $4)",
        )
        .bind(f64::from(i))
        .bind(if i % 2 == 0 { "paused" } else { "unpaused" })
        .bind(if i < 5 { "ada" } else { "bob" })
        .bind(if i == 0 { "p" } else { "q" })
        .execute(site.pool())
        .await
        .expect("audit row");
    }
    let b = site.sign_in_as(Role::Viewer).await;
    let page = text(site.get("/audit-log", Some(&b.cookie)).await).await;
    assert_eq!(page.matches(r#"data-testid="audit-row""#).count(), 50);
    assert!(page.contains(r#"data-testid="audit-next""#));
    let first = page
        .split(r#"data-testid="audit-row""#)
        .nth(1)
        .expect("a row");
    assert!(first.contains("<td>p</td>"), "newest first: {first}");
    let page2 = text(site.get("/audit-log?page=2", Some(&b.cookie)).await).await;
    assert_eq!(page2.matches(r#"data-testid="audit-row""#).count(), 5);
    assert!(!page2.contains(r#"data-testid="audit-next""#));
    let ada = text(
        site.get("/audit-log?owner=ada&event=paused", Some(&b.cookie))
            .await,
    )
    .await;
    assert_eq!(ada.matches(r#"data-testid="audit-row""#).count(), 3);
    let p = text(site.get("/audit-log?dag_id=p", Some(&b.cookie)).await).await;
    assert_eq!(p.matches(r#"data-testid="audit-row""#).count(), 1);
}

/// A settings route to try: path, permission, form, and SQL that is true
/// once the change is done.
type Case<'a> = (String, Action, Vec<(&'a str, &'a str)>, String);

/// Whether `sql` (one boolean) holds.
async fn holds(site: &Site, sql: &str) -> bool {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(site.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

// Invariant: the variable, connection and pool routes answer each role as
// the permission table says (Op and Admin), and refuse a missing or wrong
// CSRF token; a refused request changes nothing and is not audited.
#[tokio::test]
async fn settings_routes_check_csrf_and_role() {
    let site = site().await;
    let mut n = 0;
    for role in Role::ALL {
        let b = site.sign_in_as(role).await;
        n += 1;
        for stmt in [
            "INSERT INTO variable (key, val) VALUES ($1, 'v')",
            "INSERT INTO connection (conn_id, conn_type) VALUES ($1, 'http')",
            "INSERT INTO pool (pool, slots, include_deferred) VALUES ($1, 1, false)",
        ] {
            sqlx::query(stmt)
                .bind(format!("old{n}"))
                .execute(site.pool())
                .await
                .expect("seed");
        }
        let new = format!("new{n}");
        let old = format!("old{n}");
        // (path, permission, form, SQL true once the change is done)
        let cases: Vec<Case> = vec![
            (
                "/variables".into(),
                Action::EditVariables,
                vec![("key", &new), ("val", "1")],
                format!("SELECT EXISTS (SELECT 1 FROM variable WHERE key = '{new}')"),
            ),
            (
                format!("/variables/{old}/delete"),
                Action::EditVariables,
                vec![],
                format!("SELECT NOT EXISTS (SELECT 1 FROM variable WHERE key = '{old}')"),
            ),
            (
                "/connections".into(),
                Action::EditConnections,
                vec![("conn_id", &new), ("conn_type", "http")],
                format!("SELECT EXISTS (SELECT 1 FROM connection WHERE conn_id = '{new}')"),
            ),
            (
                format!("/connections/{old}/delete"),
                Action::EditConnections,
                vec![],
                format!("SELECT NOT EXISTS (SELECT 1 FROM connection WHERE conn_id = '{old}')"),
            ),
            (
                "/pools".into(),
                Action::EditPools,
                vec![("pool", &new), ("slots", "3")],
                format!("SELECT EXISTS (SELECT 1 FROM pool WHERE pool = '{new}')"),
            ),
            (
                format!("/pools/{old}/delete"),
                Action::EditPools,
                vec![],
                format!("SELECT NOT EXISTS (SELECT 1 FROM pool WHERE pool = '{old}')"),
            ),
        ];
        for (path, action, form, done) in cases {
            let audited_before = site.audit_events().await.len();
            for token in ["", "wrong"] {
                let mut bad = form.clone();
                bad.push(("csrf_token", token));
                let res = site.post(&path, Some(&b.cookie), &bad).await;
                assert_eq!(
                    res.status(),
                    StatusCode::FORBIDDEN,
                    "{role} {path} csrf {token:?}"
                );
            }
            assert!(
                !holds(&site, &done).await,
                "{role} {path}: changed without CSRF"
            );
            let res = site.submit(&b, &path, &form).await;
            if allowed(role, action) {
                assert_eq!(res.status(), StatusCode::SEE_OTHER, "{role} {path}");
                assert!(holds(&site, &done).await, "{role} {path}: not done");
                assert_eq!(
                    site.audit_events().await.len(),
                    audited_before + 1,
                    "{path}"
                );
            } else {
                assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} {path}");
                assert!(!holds(&site, &done).await, "{role} {path}: done anyway");
                assert_eq!(site.audit_events().await.len(), audited_before, "{path}");
            }
        }
    }
}

// Invariant: a connection's password and secret extras never reach a
// response body (list, edit form, audit log); an edit that leaves the
// password empty and the secrets as *** keeps them; new values replace them.
#[tokio::test]
async fn connection_secrets_never_leave_the_server() {
    let site = site().await;
    let b = site.sign_in_as(Role::Op).await;
    let extra = r#"{"sasl.password": "hunter2", "ssl.key.pem": "KEYMATERIAL", "nested": {"api_token": "t0ken"}, "group.id": "g"}"#;
    let res = site
        .submit(
            &b,
            "/connections",
            &[
                ("conn_id", "kafka_main"),
                ("conn_type", "kafka"),
                ("host", "broker"),
                ("login", "me"),
                ("password", "s3cr3t-pw"),
                ("port", "9092"),
                ("extra", extra),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // A sensitive variable too.
    let res = site
        .submit(
            &b,
            "/variables",
            &[("key", "api_secret"), ("val", "var-s3cret")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let secrets = ["s3cr3t-pw", "hunter2", "KEYMATERIAL", "t0ken", "var-s3cret"];
    let mut bodies = Vec::new();
    for path in [
        "/connections",
        "/connections?edit=kafka_main",
        "/variables",
        "/variables?edit=api_secret",
        "/audit-log",
    ] {
        let res = site.get(path, Some(&b.cookie)).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        bodies.push((path, text(res).await));
    }
    for (path, body) in &bodies {
        for s in secrets {
            assert!(!body.contains(s), "{s} in {path}");
        }
    }
    let edit = &bodies[1].1;
    assert!(edit.contains(r#"name="password" value="""#), "{edit}");
    assert!(
        edit.contains("&#34;sasl.password&#34;:&#34;***&#34;"),
        "{edit}"
    );
    assert!(edit.contains("&#34;group.id&#34;:&#34;g&#34;"), "{edit}");

    // Saved back as shown (password empty, secrets ***), host changed.
    let shown_extra = r#"{"sasl.password": "***", "ssl.key.pem": "***", "nested": {"api_token": "***"}, "group.id": "g2"}"#;
    let form = |password: &'static str| {
        vec![
            ("conn_id", "kafka_main"),
            ("conn_type", "kafka"),
            ("host", "broker2"),
            ("login", "me"),
            ("password", password),
            ("port", "9092"),
            ("extra", shown_extra),
        ]
    };
    let res = site.submit(&b, "/connections", &form("")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let stored = || async {
        let (host, password, extra): (String, Vec<u8>, Vec<u8>) = sqlx::query_as(
            "SELECT host, password, extra FROM connection WHERE conn_id = 'kafka_main'",
        )
        .fetch_one(site.pool())
        .await
        .expect("connection");
        let extra: Value = serde_json::from_slice(&extra).expect("extra json");
        (host, String::from_utf8(password).expect("utf8"), extra)
    };
    let (host, password, extra) = stored().await;
    assert_eq!(host, "broker2");
    assert_eq!(password, "s3cr3t-pw");
    assert_eq!(
        extra,
        json!({"sasl.password": "hunter2", "ssl.key.pem": "KEYMATERIAL",
               "nested": {"api_token": "t0ken"}, "group.id": "g2"})
    );
    let res = site.submit(&b, "/connections", &form("new-pw")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(stored().await.1, "new-pw");
    // The sensitive variable saved back as *** keeps its value.
    let res = site
        .submit(&b, "/variables", &[("key", "api_secret"), ("val", "***")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let val: String = sqlx::query_scalar("SELECT val FROM variable WHERE key = 'api_secret'")
        .fetch_one(site.pool())
        .await
        .expect("variable");
    assert_eq!(val, "var-s3cret");
    // Bad input comes back with 400 and without the typed password.
    let res = site
        .submit(
            &b,
            "/connections",
            &[
                ("conn_id", "bad id"),
                ("conn_type", "x"),
                ("password", "typed-pw"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(!text(res).await.contains("typed-pw"));
}

// Invariant: default_pool cannot be deleted; bad slots are refused.
#[tokio::test]
async fn pools_keep_the_default_and_check_slots() {
    let site = site().await;
    let b = site.sign_in_as(Role::Op).await;
    let res = site.submit(&b, "/pools/default_pool/delete", &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        holds(
            &site,
            "SELECT EXISTS (SELECT 1 FROM pool WHERE pool = 'default_pool')"
        )
        .await
    );
    let res = site
        .submit(&b, "/pools", &[("pool", "p1"), ("slots", "-2")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        !holds(
            &site,
            "SELECT EXISTS (SELECT 1 FROM pool WHERE pool = 'p1')"
        )
        .await
    );
    let res = site
        .submit(
            &b,
            "/pools",
            &[
                ("pool", "p1"),
                ("slots", "-1"),
                ("include_deferred", "true"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        holds(
            &site,
            "SELECT slots = -1 AND include_deferred FROM pool WHERE pool = 'p1'"
        )
        .await
    );
    let page = text(site.get("/pools", Some(&b.cookie)).await).await;
    assert!(page.contains(r#"data-pool="p1""#), "{page}");
}

/// A daily DAG `dag_id` for backfills (tasks a >> b).
fn daily_dag(dag_id: &str) -> Value {
    let task = |id: &str, up: &[&str], down: &[&str]| {
        json!({"task_id": id, "task_type": "EmptyOperator", "operator_kind": "empty",
               "upstream_task_ids": up, "downstream_task_ids": down})
    };
    json!({
        "dag_id": dag_id, "fileloc": format!("/dags/{dag_id}.py"),
        "schedule": {"type": "cron", "expr": "0 0 * * *", "preset": "@daily",
                     "timezone": null, "timetable": null},
        "start_date": "2026-01-01T00:00:00+00:00",
        "tasks": [task("a", &[], &["b"]), task("b", &["a"], &[])]
    })
}

impl Site {
    /// `(id, is_paused, completed)` of the DAG's backfills, oldest first.
    async fn backfills(&self, dag_id: &str) -> Vec<(i64, bool, bool)> {
        sqlx::query_as(
            "SELECT id, is_paused, completed_at IS NOT NULL FROM backfill WHERE dag_id = $1
              ORDER BY id",
        )
        .bind(dag_id)
        .fetch_all(self.pool())
        .await
        .expect("backfills")
    }
}

// Invariant: the backfill routes (form, dry run, create, pause, resume,
// cancel) answer each role as the permission table says (Airflow 3: Op and
// Admin manage backfills): refused with 403 and nothing changed, or done
// with an audit row; a form without the CSRF token is refused.
#[tokio::test]
async fn backfill_routes_check_the_role_and_csrf() {
    use updraft_core::store::backfills::Reprocess;
    use updraft_scheduler::backfill::{self, BackfillRequest};

    let site = site().await;
    site.store_dag(&daily_dag("s")).await;
    site.store_dag(&daily_dag("other")).await;
    // An active backfill the refused roles try to change.
    let from = "2026-01-01T00:00:00Z".parse().expect("date");
    let to = "2026-01-02T00:00:00Z".parse().expect("date");
    let other = backfill::create(
        site.pool(),
        &SCHEDULE,
        &BackfillRequest {
            dag_id: "other".into(),
            from_date: from,
            to_date: to,
            run_backwards: false,
            dag_run_conf: json!({}),
            reprocess: Reprocess::None,
            max_active_runs: 10,
        },
        "setup",
        chrono::Utc::now(),
    )
    .await
    .expect("backfill of other")
    .backfill
    .id;
    for (n, role) in Role::ALL.into_iter().enumerate() {
        // Each role its own month: earlier backfills' runs would be skipped.
        let (from, to) = (format!("2026-0{}-01", n + 1), format!("2026-0{}-03", n + 1));
        let fields: &[(&str, &str)] = &[
            ("from_date", &from),
            ("to_date", &to),
            ("reprocess_behavior", "none"),
            ("max_active_runs", "2"),
            ("conf", "{\"k\": 1}"),
        ];
        let b = site.sign_in_as(role).await;
        let may = allowed(role, Action::ManageBackfills);
        let list = text(site.get("/dags/s/backfills", Some(&b.cookie)).await).await;
        assert_eq!(
            list.contains(r#"data-testid="backfill-new""#),
            may,
            "{role}"
        );
        let form = site.get("/dags/s/backfill", Some(&b.cookie)).await;
        assert_eq!(form.status() == StatusCode::OK, may, "{role} form");
        let dry = site.submit(&b, "/dags/s/backfill/dry_run", fields).await;
        let created = site.submit(&b, "/dags/s/backfill", fields).await;
        if may {
            assert_eq!(dry.status(), StatusCode::OK, "{role}");
            let html = text(dry).await;
            assert!(html.contains("3 runs will be created"), "{html}");
            assert_eq!(created.status(), StatusCode::SEE_OTHER, "{role}");
            assert_eq!(location(&created), "/dags/s/backfills");
            let (id, _, _) = *site.backfills("s").await.last().expect("created");
            // A second one while it is active: 409, said in words.
            let again = site.submit(&b, "/dags/s/backfill", fields).await;
            assert_eq!(again.status(), StatusCode::CONFLICT);
            assert!(text(again).await.contains("backfill in progress"));
            for (what, paused, done) in [
                ("pause", true, false),
                ("unpause", false, false),
                ("cancel", true, true),
            ] {
                let res = site
                    .submit(&b, &format!("/dags/s/backfills/{id}/{what}"), &[])
                    .await;
                assert_eq!(res.status(), StatusCode::SEE_OTHER, "{role} {what}");
                let now = site.backfills("s").await;
                assert_eq!(now.last(), Some(&(id, paused, done)), "{role} {what}");
            }
        } else {
            assert_eq!(dry.status(), StatusCode::FORBIDDEN, "{role}");
            assert_eq!(created.status(), StatusCode::FORBIDDEN, "{role}");
            for what in ["pause", "unpause", "cancel"] {
                let res = site
                    .submit(&b, &format!("/dags/other/backfills/{other}/{what}"), &[])
                    .await;
                assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} {what}");
            }
        }
        assert_eq!(
            site.backfills("other").await,
            [(other, false, false)],
            "{role}"
        );
        // Without the CSRF token nothing happens, whatever the role.
        let res = site
            .post(
                &format!("/dags/other/backfills/{other}/cancel"),
                Some(&b.cookie),
                &[],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let events: Vec<String> = site
        .audit_events()
        .await
        .into_iter()
        .filter(|(_, owner)| owner.as_deref() != Some("setup"))
        .map(|(event, _)| event)
        .filter(|e| e.ends_with("backfill"))
        .collect();
    // Admin and Op: create, pause, unpause, cancel each.
    assert_eq!(events.len(), 8, "{events:?}");
    assert_eq!(site.backfills("s").await.len(), 2);
}
