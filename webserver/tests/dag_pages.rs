//! The DAG pages through the router on a real PostgreSQL database of each
//! test's own: the grid, the code tab, the task instance page and its log
//! tail; 404 for unknown ids; a session required; every role may read.

mod common;

use axum::http::StatusCode;
use common::{Site, location};
use updraft_webserver::Role;

const DAG: &str = "grid_dag";
const SOURCE: &str =
    "from airflow import DAG\n# <script>alert(1)</script>\nwith DAG('grid_dag'):\n    pass\n";

impl Site {
    /// A DAG `start >> g.a >> g.inner.b >> end` (g, g.inner task groups),
    /// its source, and two runs: `r1` finished (g.a failed then succeeded on
    /// try 2), `r2` running with g.a running and the rest waiting.
    async fn fixture(&self) {
        let data = serde_json::json!({
            "dag_id": DAG,
            "tasks": [
                {"task_id": "end", "upstream_task_ids": ["g.inner.b"], "trigger_rule": "all_success"},
                {"task_id": "g.a", "upstream_task_ids": ["start"], "task_group": "g"},
                {"task_id": "g.inner.b", "upstream_task_ids": ["g.a"], "task_group": "g.inner", "trigger_rule": "all_success"},
                {"task_id": "start", "upstream_task_ids": []}
            ],
            "task_groups": [
                {"group_id": "g", "parent_group_id": null},
                {"group_id": "g.inner", "parent_group_id": "g"}
            ]
        });
        self.sql(&format!(
            "INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, owners, schedule, schedule_summary)
             VALUES ('{DAG}', '/dags/grid.py', 'grid.py', true, 'ops', '{{}}', '@daily');
             INSERT INTO dag_code (source_hash, fileloc, source_code) VALUES ('h1', '/dags/grid.py', $src${SOURCE}$src$);
             INSERT INTO dag_version (dag_id, version_number, dag_hash, data, fileloc, source_hash)
             VALUES ('{DAG}', 1, 'd1', '{data}', '/dags/grid.py', 'h1');
             INSERT INTO serialized_dag (dag_id, dag_version_id, dag_hash)
             SELECT '{DAG}', id, 'd1' FROM dag_version WHERE dag_id = '{DAG}';
             INSERT INTO dag_run (dag_id, run_id, run_type, run_after, state, start_date, end_date)
             VALUES ('{DAG}', 'scheduled__2026-01-01T00:00:00+00:00', 'scheduled', '2026-01-01', 'success', '2026-01-01', '2026-01-01 00:05'),
                    ('{DAG}', 'r2', 'manual', '2026-01-02', 'running', '2026-01-02', NULL);
             INSERT INTO task_instance (id, dag_id, run_id, task_id, state, try_number, max_tries, operator, hostname,
                                        start_date, end_date, duration, rendered_fields)
             VALUES
              (gen_random_uuid(), '{DAG}', 'scheduled__2026-01-01T00:00:00+00:00', 'start', 'success', 1, 0, 'EmptyOperator', NULL, '2026-01-01', '2026-01-01', 0, NULL),
              (gen_random_uuid(), '{DAG}', 'scheduled__2026-01-01T00:00:00+00:00', 'g.a', 'success', 2, 1, 'BashOperator', 'h', '2026-01-01 00:01', '2026-01-01 00:02', 60,
               '{{\"bash_command\": \"echo <b>hi</b> 2026-01-01\"}}'),
              (gen_random_uuid(), '{DAG}', 'scheduled__2026-01-01T00:00:00+00:00', 'g.inner.b', 'success', 1, 0, 'BashOperator', NULL, NULL, NULL, NULL, NULL),
              (gen_random_uuid(), '{DAG}', 'scheduled__2026-01-01T00:00:00+00:00', 'end', 'success', 1, 0, 'EmptyOperator', NULL, NULL, NULL, NULL, NULL),
              (gen_random_uuid(), '{DAG}', 'r2', 'start', 'success', 1, 0, 'EmptyOperator', NULL, NULL, NULL, NULL, NULL),
              (gen_random_uuid(), '{DAG}', 'r2', 'g.a', 'running', 1, 1, 'BashOperator', 'worker-1', '2026-01-02', NULL, NULL, NULL),
              (gen_random_uuid(), '{DAG}', 'r2', 'g.inner.b', NULL, 0, 0, 'BashOperator', NULL, NULL, NULL, NULL, NULL),
              (gen_random_uuid(), '{DAG}', 'r2', 'end', NULL, 0, 0, 'EmptyOperator', NULL, NULL, NULL, NULL, NULL);
             INSERT INTO task_instance_history (ti_id, try_number, state, operator, error)
             SELECT id, 1, 'up_for_retry', 'BashOperator', 'exit 1' FROM task_instance
              WHERE run_id LIKE 'scheduled%' AND task_id = 'g.a';
             INSERT INTO task_log (ti_id, try_number, seq, content)
             SELECT id, t, s, format('try %s line %s\n', t, s) FROM task_instance,
                    generate_series(1, 2) t, generate_series(0, 1) s
              WHERE run_id LIKE 'scheduled%' AND task_id = 'g.a';
             INSERT INTO task_log (ti_id, try_number, seq, content)
             SELECT id, 1, 0, 'running line 0\n' FROM task_instance WHERE run_id = 'r2' AND task_id = 'g.a';
             INSERT INTO xcom (ti_id, dag_id, run_id, task_id, map_index, key, value)
             SELECT id, dag_id, run_id, task_id, map_index, 'return_value', '{{\"rows\": 3}}' FROM task_instance
              WHERE run_id LIKE 'scheduled%' AND task_id = 'g.a';"
        ))
        .await;
    }
}

/// `(data-task-id, data-run-id, data-state)` of every `grid-cell`.
fn cells(html: &str) -> Vec<(String, String, String)> {
    html.split(r#"data-testid="grid-cell""#)
        .skip(1)
        .map(|rest| {
            let attr = |name: &str| {
                rest.split(&format!(r#"{name}=""#))
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                attr("data-task-id"),
                attr("data-run-id"),
                attr("data-state"),
            )
        })
        .collect()
}

const TI_PATH: &str = "/dags/grid_dag/runs/scheduled__2026-01-01T00%3A00%3A00%2B00%3A00/tasks/g.a";

// Invariant: the grid has runs as columns oldest→newest, tasks as rows in
// the DAG's order under their groups, each cell with its state and a link.
#[tokio::test]
async fn grid_shows_states_in_dag_order() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    let html = site.page("/dags/grid_dag/grid", &cookie).await;
    assert!(
        html.contains(r#"data-testid="dag-schedule">@daily"#),
        "{html}"
    );
    assert!(html.contains(r#"data-paused="true""#));
    assert!(
        html.contains(r#"data-active="true""#),
        "r2 runs: the grid polls"
    );
    let r1 = "scheduled__2026-01-01T00:00:00+00:00";
    let got = cells(&html);
    let want: Vec<(String, String, String)> = [
        ("start", r1, "success"),
        ("start", "r2", "success"),
        ("g.a", r1, "success"),
        ("g.a", "r2", "running"),
        ("g.inner.b", r1, "success"),
        ("g.inner.b", "r2", "none"),
        ("end", r1, "success"),
        ("end", "r2", "none"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want);
    // Group rows summarise their members: running outranks success.
    assert!(html.contains(r#"data-testid="group-toggle" data-group="g.inner""#));
    assert!(
        html.contains(r#"data-testid="grid-group-cell" data-task-id="g" data-run-id="r2" data-state="running""#),
        "{html}"
    );
    // Links are relative to /dags/grid_dag/ (the grid is /dags/grid_dag/grid).
    let relative = TI_PATH.strip_prefix("/dags/grid_dag/").expect("prefix");
    assert!(html.contains(&format!(r#"href="{relative}""#)), "{html}");
    // One run asked for: only the newest column.
    let html = site.page("/dags/grid_dag/grid?num_runs=1", &cookie).await;
    assert!(cells(&html).iter().all(|(_, run, _)| run == "r2"));
    assert_eq!(cells(&html).len(), 4);
    // Finished runs only: no polling.
    site.sql("UPDATE dag_run SET state = 'success', end_date = now() WHERE run_id = 'r2'")
        .await;
    let html = site.page("/dags/grid_dag/grid", &cookie).await;
    assert!(html.contains(r#"data-active="false""#));
    // The DAG list links each DAG to its grid.
    let home = site.page("/home", &cookie).await;
    assert!(home.contains(r#"href="/dags/grid_dag/grid""#), "{home}");
}

// Invariant: the code tab shows the stored source escaped, line-numbered.
#[tokio::test]
async fn code_tab_is_escaped_with_line_numbers() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    let html = site.page("/dags/grid_dag/code", &cookie).await;
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains(r#"id="L4">4</td>"#), "{html}");
    assert!(!html.contains(r#"id="L5""#));
}

// Invariant: the task instance page shows state, tries, rendered fields
// (escaped), XComs, and the log of the chosen try.
#[tokio::test]
async fn task_instance_page_and_logs() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    let html = site.page(TI_PATH, &cookie).await;
    assert!(
        html.contains(r#"data-testid="ti-state" data-state="success""#),
        "{html}"
    );
    assert!(html.contains(r#"data-testid="ti-try">2 of 2"#), "{html}");
    assert!(html.contains("BashOperator"));
    assert!(html.contains(r#"data-testid="rendered-field" data-field="bash_command""#));
    assert!(
        html.contains("echo &#60;b&#62;hi&#60;/b&#62; 2026-01-01"),
        "{html}"
    );
    assert!(html.contains(r#"data-key="return_value""#) && html.contains("&#34;rows&#34;: 3"));
    assert!(html.contains("try 2 line 0\ntry 2 line 1\n"), "{html}");
    assert!(html.contains(r#"data-ended="true""#));
    assert!(!html.contains(r#"data-testid="ti-waiting""#));
    let html = site.page(&format!("{TI_PATH}?try_number=1"), &cookie).await;
    assert!(html.contains("try 1 line 0\ntry 1 line 1\n") && !html.contains("try 2 line"));

    // The live tail: chunks after a seq, and whether the try has ended.
    let running = "/dags/grid_dag/runs/r2/tasks/g.a";
    let html = site.page(running, &cookie).await;
    assert!(
        html.contains(r#"data-seq="0" data-ended="false""#),
        "{html}"
    );
    site.sql(
        "INSERT INTO task_log (ti_id, try_number, seq, content)
         SELECT id, 1, 1, 'running line 1\n' FROM task_instance WHERE run_id = 'r2' AND task_id = 'g.a'",
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(
        &site
            .page(&format!("{running}/logs?try_number=1&after=0"), &cookie)
            .await,
    )
    .expect("json");
    assert_eq!(json["ended"], false);
    assert_eq!(
        json["chunks"],
        serde_json::json!([{"seq": 1, "content": "running line 1\n"}])
    );
    site.sql("UPDATE task_instance SET state = 'success', end_date = now() WHERE run_id = 'r2' AND task_id = 'g.a'")
        .await;
    let json: serde_json::Value = serde_json::from_str(
        &site
            .page(&format!("{running}/logs?try_number=1&after=1"), &cookie)
            .await,
    )
    .expect("json");
    assert_eq!(json["ended"], true);
    assert_eq!(json["chunks"], serde_json::json!([]));
}

// Invariant: a task that has not run says why, from core's trigger-rule
// check on its upstreams' states.
#[tokio::test]
async fn waiting_task_says_why() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    let html = site
        .page("/dags/grid_dag/runs/r2/tasks/g.inner.b", &cookie)
        .await;
    assert!(html.contains(r#"data-testid="ti-waiting""#), "{html}");
    let reason = html
        .split(r#"data-testid="ti-waiting-reason">"#)
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("reason");
    assert!(reason.starts_with("Waiting"), "{reason}");
    assert!(html.contains("<code>g.a</code>: <span class=\"state state-running\">running</span>"));
    assert!(html.contains(r#"data-testid="no-log""#));
}

// Invariant: unknown DAGs, runs and tasks are 404, not 500 or an empty page.
#[tokio::test]
async fn unknown_ids_are_404() {
    let site = Site::new().await;
    site.fixture().await;
    let cookie = site.session("Viewer").await;
    for path in [
        "/dags/nope/grid",
        "/dags/nope/code",
        "/dags/grid_dag/runs/nope/tasks/g.a",
        "/dags/grid_dag/runs/r2/tasks/nope",
        "/dags/grid_dag/runs/r2/tasks/g.a?map_index=3",
        "/dags/grid_dag/runs/r2/tasks/nope/logs?try_number=1",
    ] {
        let res = site.get(path, Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

// Invariant: every DAG page needs a session (303 to sign-in), and every
// role may read them (all are ReadDags, which every role has).
#[tokio::test]
async fn pages_need_a_session_and_every_role_reads() {
    let site = Site::new().await;
    site.fixture().await;
    let paths = [
        "/dags/grid_dag/grid".to_owned(),
        "/dags/grid_dag/code".to_owned(),
        TI_PATH.to_owned(),
        format!("{TI_PATH}/logs?try_number=1"),
    ];
    for path in &paths {
        let res = site.get(path, None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        let to = location(&res);
        assert!(to.starts_with("/login?next="), "{path} -> {to}");
    }
    for role in Role::ALL {
        let cookie = site.session(role.name()).await;
        for path in &paths {
            let res = site.get(path, Some(&cookie)).await;
            assert_eq!(res.status(), StatusCode::OK, "{role} {path}");
        }
    }
}
