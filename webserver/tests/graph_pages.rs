//! The graph, run details, run durations and browse pages through the
//! router on a real PostgreSQL database of each test's own: layered layout
//! coloured by the chosen run, filters and paging, 400 for unreadable
//! filters, 404 for unknown ids, a session required.

mod common;

use axum::http::StatusCode;
use common::{Site, location, text};

const DAG: &str = "graph_dag";
const R1: &str = "scheduled__2026-01-01T00:00:00+00:00";
const R1_SEG: &str = "scheduled__2026-01-01T00%3A00%3A00%2B00%3A00";

impl Site {
    /// `start >> [g.a, g.b]`, `g.a >> end` labelled "yes", `g.b >> end`
    /// (task group g), plus a second DAG `other_dag`; runs: R1 finished
    /// (5 minutes, g.b failed, end upstream_failed), `r2` manual and running
    /// (g.a running, the rest waiting), and other_dag's `o1` success.
    async fn fixture(&self) {
        let data = serde_json::json!({
            "dag_id": DAG,
            "tasks": [
                {"task_id": "end", "upstream_task_ids": ["g.a", "g.b"], "task_type": "EmptyOperator"},
                {"task_id": "g.a", "upstream_task_ids": ["start"], "task_group": "g", "task_type": "BashOperator"},
                {"task_id": "g.b", "upstream_task_ids": ["start"], "task_group": "g", "task_type": "PythonOperator"},
                {"task_id": "start", "upstream_task_ids": [], "task_type": "EmptyOperator"}
            ],
            "task_groups": [{"group_id": "g", "parent_group_id": null}],
            "edge_labels": [{"from": "g.a", "to": "end", "label": "yes"}]
        });
        self.sql(&format!(
            "INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, owners, schedule, schedule_summary)
             VALUES ('{DAG}', '/dags/g.py', 'g.py', false, 'ops', '{{}}', '@daily'),
                    ('other_dag', '/dags/o.py', 'o.py', false, 'ops', '{{}}', NULL);
             INSERT INTO dag_code (source_hash, fileloc, source_code) VALUES ('h1', '/dags/g.py', 'pass');
             INSERT INTO dag_version (dag_id, version_number, dag_hash, data, fileloc, source_hash)
             VALUES ('{DAG}', 1, 'd1', '{data}', '/dags/g.py', 'h1');
             INSERT INTO serialized_dag (dag_id, dag_version_id, dag_hash)
             SELECT '{DAG}', id, 'd1' FROM dag_version WHERE dag_id = '{DAG}';
             INSERT INTO pool (pool, slots) VALUES ('etl', 4) ON CONFLICT DO NOTHING;
             INSERT INTO dag_run (dag_id, run_id, run_type, logical_date, data_interval_start, data_interval_end,
                                  run_after, state, start_date, end_date, conf, triggered_by, triggering_user, note)
             VALUES ('{DAG}', '{R1}', 'scheduled', '2026-01-01', '2025-12-31', '2026-01-01', '2026-01-01', 'failed',
                     '2026-01-01 00:00', '2026-01-01 00:05', '{{}}', 'scheduler', NULL, NULL),
                    ('{DAG}', 'r2', 'manual', '2026-01-02', '2026-01-01', '2026-01-02', '2026-01-02', 'running',
                     '2026-01-02', NULL, '{{\"who\": \"<b>me</b>\"}}', 'ui', 'alice', 'rerun after fix'),
                    ('other_dag', 'o1', 'scheduled', '2026-01-03', NULL, NULL, '2026-01-03', 'success',
                     '2026-01-03', '2026-01-03 00:00:30', '{{}}', 'scheduler', NULL, NULL);
             INSERT INTO task_instance (id, dag_id, run_id, task_id, state, try_number, operator, pool, hostname,
                                        start_date, end_date, duration)
             VALUES
              (gen_random_uuid(), '{DAG}', '{R1}', 'start', 'success', 1, 'EmptyOperator', 'default_pool', NULL, '2026-01-01', '2026-01-01', 0),
              (gen_random_uuid(), '{DAG}', '{R1}', 'g.a', 'success', 1, 'BashOperator', 'etl', 'h', '2026-01-01 00:01', '2026-01-01 00:02', 60),
              (gen_random_uuid(), '{DAG}', '{R1}', 'g.b', 'failed', 1, 'PythonOperator', 'default_pool', 'h', '2026-01-01 00:01', '2026-01-01 00:04', 185),
              (gen_random_uuid(), '{DAG}', '{R1}', 'end', 'upstream_failed', 0, 'EmptyOperator', 'default_pool', NULL, NULL, NULL, NULL),
              (gen_random_uuid(), '{DAG}', 'r2', 'start', 'success', 1, 'EmptyOperator', 'default_pool', NULL, NULL, NULL, NULL),
              (gen_random_uuid(), '{DAG}', 'r2', 'g.a', 'running', 1, 'BashOperator', 'etl', 'worker-1', '2026-01-02', NULL, NULL),
              (gen_random_uuid(), '{DAG}', 'r2', 'g.b', NULL, 0, 'PythonOperator', 'default_pool', NULL, NULL, NULL, NULL),
              (gen_random_uuid(), '{DAG}', 'r2', 'end', NULL, 0, 'EmptyOperator', 'default_pool', NULL, NULL, NULL, NULL),
              (gen_random_uuid(), 'other_dag', 'o1', 'only', 'success', 1, 'BashOperator', 'default_pool', 'h', '2026-01-03', '2026-01-03 00:00:30', 30);"
        ))
        .await;
    }
}

/// The value of attribute `name` in each element carrying `marker`.
fn attrs(html: &str, marker: &str, name: &str) -> Vec<String> {
    html.split(marker)
        .skip(1)
        .map(|rest| {
            let tag = rest.split('>').next().unwrap_or_default();
            tag.split(&format!(r#" {name}=""#))
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// `task id → (x, state)` of the graph's nodes.
fn nodes(html: &str) -> Vec<(String, f64, String)> {
    let marker = r#"data-testid="graph-node""#;
    let ids = attrs(html, marker, "data-task-id");
    let xs = attrs(html, marker, "data-x");
    let states = attrs(html, marker, "data-state");
    ids.into_iter()
        .zip(xs)
        .zip(states)
        .map(|((id, x), s)| (id, x.parse().unwrap_or(f64::NAN), s))
        .collect()
}

fn node<'a>(ns: &'a [(String, f64, String)], id: &str) -> &'a (String, f64, String) {
    ns.iter()
        .find(|n| n.0 == id)
        .unwrap_or_else(|| panic!("{id} in {ns:?}"))
}

// Invariant: the graph places every upstream task in an earlier layer than
// its downstream, colours nodes by the chosen run (latest by default) and
// links each to its task instance; edge labels and groups are shown.
#[tokio::test]
async fn graph_is_layered_and_coloured_by_the_chosen_run() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    let html = site.page("/dags/graph_dag/graph", &cookie).await;
    let ns = nodes(&html);
    assert_eq!(ns.len(), 4, "{html}");
    for (up, down) in [
        ("start", "g.a"),
        ("start", "g.b"),
        ("g.a", "end"),
        ("g.b", "end"),
    ] {
        assert!(
            node(&ns, up).1 < node(&ns, down).1,
            "{up} before {down}: {ns:?}"
        );
    }
    // Latest run r2 by default.
    assert!(
        html.contains(r#"data-testid="graph" data-run-id="r2""#),
        "{html}"
    );
    assert_eq!(node(&ns, "g.a").2, "running");
    assert_eq!(node(&ns, "end").2, "none");
    assert!(html.contains(r#"href="runs/r2/tasks/g.a""#), "{html}");
    assert_eq!(
        attrs(&html, r#"data-testid="graph-edge""#, "data-from").len(),
        4
    );
    assert!(html.contains(r#"data-testid="graph-edge-label" data-from="g.a" data-to="end""#));
    assert!(html.contains(">yes</text>"), "{html}");
    assert!(html.contains(r#"data-testid="graph-group" data-group="g""#));
    assert!(html.contains(">BashOperator</text>"));
    // The other run, chosen by id.
    let html = site
        .page(&format!("/dags/graph_dag/graph?run_id={R1_SEG}"), &cookie)
        .await;
    let ns = nodes(&html);
    assert_eq!(node(&ns, "g.b").2, "failed");
    assert_eq!(node(&ns, "end").2, "upstream_failed");
    assert!(
        html.contains(&format!(r#"href="runs/{R1_SEG}/tasks/g.b""#)),
        "{html}"
    );
    // Unknown run, unknown DAG: 404.
    let res = site
        .get("/dags/graph_dag/graph?run_id=nope", Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = site.get("/dags/nope/graph", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // A DAG never parsed and without runs: an empty graph, not an error.
    let html = site.page("/dags/other_dag/graph?run_id=o1", &cookie).await;
    assert!(html.contains(r#"data-testid="graph-empty""#), "{html}");
}

// Invariant: the run page shows the run's fields (conf escaped) and its task
// instances with links to their pages and their clear/mark dialogs.
#[tokio::test]
async fn run_details_page() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    let html = site.page("/dags/graph_dag/runs/r2", &cookie).await;
    assert!(
        html.contains(r#"data-testid="run-state">running"#),
        "{html}"
    );
    assert!(html.contains(r#"data-testid="run-type">manual"#));
    assert!(
        html.contains(r#"data-testid="run-triggered-by">ui (alice)"#),
        "{html}"
    );
    assert!(html.contains(r#"data-testid="run-note">rerun after fix"#));
    assert!(
        html.contains("&#60;b&#62;me&#60;/b&#62;"),
        "conf escaped: {html}"
    );
    assert!(html.contains("2026-01-01 00:00:00 UTC → 2026-01-02 00:00:00 UTC"));
    assert_eq!(
        attrs(&html, r#"data-testid="run-ti""#, "data-task-id"),
        ["end", "g.a", "g.b", "start"]
    );
    assert!(html.contains(r#"href="/dags/graph_dag/runs/r2/tasks/g.a""#));
    assert!(html.contains(r#"href="/dags/graph_dag/runs/r2/tasks/g.a/clear""#));
    let html = site
        .page(&format!("/dags/graph_dag/runs/{R1_SEG}"), &cookie)
        .await;
    assert!(
        html.contains(r#"data-testid="run-duration">5m 00s"#),
        "{html}"
    );
    let res = site.get("/dags/graph_dag/runs/nope", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

// Invariant: the durations chart has one bar per run, oldest first, its
// length the run's duration, coloured by the run's state.
#[tokio::test]
async fn durations_chart() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    let html = site.page("/dags/graph_dag/durations", &cookie).await;
    let marker = r#"data-testid="duration-bar""#;
    assert_eq!(attrs(&html, marker, "data-run-id"), [R1, "r2"]);
    assert_eq!(attrs(&html, marker, "data-state"), ["failed", "running"]);
    let secs = attrs(&html, marker, "data-seconds");
    assert_eq!(secs[0], "300.000");
    let running: f64 = secs[1].parse().expect("seconds");
    assert!(running > 300.0, "r2 has run since 2026-01-02: {running}");
    let html = site
        .page("/dags/graph_dag/durations?num_runs=1", &cookie)
        .await;
    assert_eq!(attrs(&html, marker, "data-run-id"), ["r2"]);
}

fn run_ids(html: &str) -> Vec<String> {
    attrs(html, r#"data-testid="run-row""#, "data-run-id")
}

// Invariant: the run list filters by DAG, state, type and date range,
// newest first unless asked, in pages that link to each other.
#[tokio::test]
async fn browse_runs_filters_and_pages() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    assert_eq!(
        run_ids(&site.page("/dag_runs", &cookie).await),
        ["o1", "r2", R1]
    );
    assert_eq!(
        run_ids(&site.page("/dag_runs?order=asc", &cookie).await),
        [R1, "r2", "o1"]
    );
    assert_eq!(
        run_ids(&site.page("/dag_runs?dag_id=graph_dag", &cookie).await),
        ["r2", R1]
    );
    assert_eq!(
        run_ids(&site.page("/dag_runs?state=failed", &cookie).await),
        [R1]
    );
    assert_eq!(
        run_ids(
            &site
                .page("/dag_runs?run_type=manual&dag_id=", &cookie)
                .await
        ),
        ["r2"]
    );
    assert_eq!(
        run_ids(
            &site
                .page("/dag_runs?from=2026-01-02&to=2026-01-02", &cookie)
                .await
        ),
        ["r2"]
    );
    assert_eq!(
        run_ids(&site.page("/dag_runs?from=2026-01-02T12:00", &cookie).await),
        ["o1"]
    );
    let first = site.page("/dag_runs?limit=2", &cookie).await;
    assert_eq!(run_ids(&first), ["o1", "r2"]);
    assert!(
        first.contains(r#"href="/dag_runs?limit=2&#38;offset=2" data-testid="page-next""#),
        "{first}"
    );
    assert!(!first.contains(r#"data-testid="page-prev""#));
    let second = site.page("/dag_runs?limit=2&offset=2", &cookie).await;
    assert_eq!(run_ids(&second), [R1]);
    assert!(!second.contains(r#"data-testid="page-next""#));
    assert!(second.contains(r#"data-testid="page-prev""#));
    assert!(
        second.contains(&format!(r#"href="/dags/graph_dag/runs/{R1_SEG}""#)),
        "{second}"
    );
    let none = site.page("/dag_runs?dag_id=missing", &cookie).await;
    assert!(none.contains(r#"data-testid="no-rows""#));
}

// Invariant: the task instance list filters by DAG, run, task, state (none
// included), pool and operator, and pages.
#[tokio::test]
async fn browse_task_instances_filters_and_pages() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    let tis = |html: &str| -> Vec<String> {
        let m = r#"data-testid="ti-row""#;
        attrs(html, m, "data-run-id")
            .into_iter()
            .zip(attrs(html, m, "data-task-id"))
            .map(|(r, t)| format!("{r}/{t}"))
            .collect()
    };
    let all = site.page("/task_instances", &cookie).await;
    assert_eq!(tis(&all).len(), 9);
    assert_eq!(tis(&all)[0], "o1/only", "newest run first");
    assert_eq!(
        tis(&site.page("/task_instances?state=running", &cookie).await),
        ["r2/g.a"]
    );
    assert_eq!(
        tis(&site.page("/task_instances?state=none", &cookie).await),
        ["r2/end", "r2/g.b"]
    );
    assert_eq!(
        tis(&site
            .page("/task_instances?pool=etl&order=asc", &cookie)
            .await),
        [format!("{R1}/g.a"), "r2/g.a".to_owned()]
    );
    assert_eq!(
        tis(&site
            .page(
                "/task_instances?operator=PythonOperator&dag_id=graph_dag&task_id=g.b",
                &cookie
            )
            .await),
        ["r2/g.b".to_owned(), format!("{R1}/g.b")]
    );
    assert_eq!(
        tis(&site
            .page(
                &format!("/task_instances?run_id={R1_SEG}&state=failed"),
                &cookie
            )
            .await),
        [format!("{R1}/g.b")]
    );
    let page2 = site.page("/task_instances?limit=4&offset=4", &cookie).await;
    assert_eq!(
        tis(&page2),
        [
            "r2/start".to_owned(),
            format!("{R1}/end"),
            format!("{R1}/g.a"),
            format!("{R1}/g.b")
        ]
    );
    assert!(
        page2.contains(r#"href="/task_instances?limit=4&#38;offset=0" data-testid="page-prev""#),
        "{page2}"
    );
    assert!(
        page2.contains(r#"href="/task_instances?limit=4&#38;offset=8" data-testid="page-next""#)
    );
    assert!(page2.contains(r#"href="/dags/graph_dag/runs/r2/tasks/start""#));
}

// Invariant: filters the server cannot read are the client's mistake: 400
// with a message naming the parameter, never a 500 or a silent default.
#[tokio::test]
async fn unreadable_filters_are_400() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    for (path, says) in [
        ("/dag_runs?from=yesterday", "from is not a date"),
        ("/dag_runs?to=2026-13-01", "to is not a date"),
        ("/dag_runs?limit=0", "limit must be between 1 and 500"),
        ("/dag_runs?limit=many", "limit must be a whole number"),
        ("/dag_runs?offset=-5", "offset must not be negative"),
        ("/dag_runs?state=done", "state must be one of"),
        ("/dag_runs?run_type=cron", "run_type must be one of"),
        ("/dag_runs?order=sideways", "order must be one of"),
        (
            "/task_instances?limit=100000",
            "limit must be between 1 and 500",
        ),
        ("/task_instances?state=green", "state must be one of"),
        (
            "/task_instances?offset=1.5",
            "offset must be a whole number",
        ),
    ] {
        let res = site.get(path, Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
        let body = text(res).await;
        assert!(body.contains(says), "{path}: {body}");
    }
}

// Invariant: every new page needs a session.
#[tokio::test]
async fn pages_need_a_session() {
    let site = Site::new().await;
    site.fixture().await;
    for path in [
        "/dag_runs",
        "/task_instances",
        "/dags/graph_dag/graph",
        "/dags/graph_dag/runs/r2",
        "/dags/graph_dag/durations",
    ] {
        let res = site.get(path, None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&res).starts_with("/login?next="), "{path}");
    }
}

// Invariant: a 1,000-task DAG (25 tasks a layer in 10 task groups, three
// upstreams each, one labelled edge) gets the scalable layered layout
// through the page: every upstream in an earlier column, curved edges,
// the label and the groups drawn.
#[tokio::test]
async fn large_dag_graph_is_layered() {
    // Layouts are cached in process by version id, and every test's
    // database starts its ids at 1: an id of its own avoids another test's.
    const BIG_VERSION: i64 = 900_001;
    let site = Site::new().await;
    let tasks: Vec<serde_json::Value> = (0..1000usize)
        .map(|i| {
            let layer = i / 25;
            let ups: Vec<String> = (0..3)
                .filter(|_| layer > 0)
                .map(|k| format!("g{}.t{}", (layer - 1) % 10, (layer - 1) * 25 + (i * 7 + k * 11) % 25))
                .collect();
            serde_json::json!({"task_id": format!("g{}.t{i}", layer % 10), "task_group": format!("g{}", layer % 10),
                               "upstream_task_ids": ups, "task_type": "BashOperator"})
        })
        .collect();
    let label_to = tasks[25]["task_id"].as_str().unwrap_or_default().to_owned();
    let label_from = tasks[25]["upstream_task_ids"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let data = serde_json::json!({"dag_id": "big_dag", "tasks": tasks,
        "edge_labels": [{"from": label_from, "to": label_to, "label": "first"}]});
    site.sql(&format!(
        "INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, owners, schedule, schedule_summary)
         VALUES ('big_dag', '/dags/b.py', 'b.py', false, 'ops', '{{}}', NULL);
         INSERT INTO dag_code (source_hash, fileloc, source_code) VALUES ('hb', '/dags/b.py', 'pass');
         INSERT INTO dag_version (id, dag_id, version_number, dag_hash, data, fileloc, source_hash)
         VALUES ({BIG_VERSION}, 'big_dag', 1, 'db', '{data}', '/dags/b.py', 'hb');
         INSERT INTO serialized_dag (dag_id, dag_version_id, dag_hash)
         SELECT 'big_dag', id, 'db' FROM dag_version WHERE dag_id = 'big_dag';"
    ))
    .await;
    let cookie = site.session("Viewer").await;
    let html = site.page("/dags/big_dag/graph", &cookie).await;
    let ns = nodes(&html);
    assert_eq!(ns.len(), 1000);
    let x: std::collections::HashMap<&str, f64> = ns.iter().map(|n| (n.0.as_str(), n.1)).collect();
    let froms = attrs(&html, r#"data-testid="graph-edge""#, "data-from");
    let tos = attrs(&html, r#"data-testid="graph-edge""#, "data-to");
    let ds = attrs(&html, r#"data-testid="graph-edge""#, "d");
    assert!(froms.len() > 2900, "{}", froms.len());
    for ((f, t), d) in froms.iter().zip(&tos).zip(&ds) {
        assert!(x[f.as_str()] < x[t.as_str()], "{f} before {t}");
        assert!(d.contains(" C "), "curved: {d}");
    }
    let columns: std::collections::BTreeSet<i64> = ns.iter().map(|n| n.1 as i64).collect();
    assert_eq!(columns.len(), 40);
    assert!(html.contains(&format!(
        r#"data-testid="graph-edge-label" data-from="{label_from}" data-to="{label_to}""#
    )));
    assert!(html.contains(">first</text>"));
    assert!(html.contains(r#"data-testid="graph-group" data-group="g9""#));
}
