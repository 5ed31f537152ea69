//! The human-in-the-loop pages through the router on a real PostgreSQL
//! database of the test's own: the Required actions list (open requests,
//! then the answered and timed-out ones), a request's page, and the task
//! instance page's own request; bodies rendered from Markdown, safely.

mod common;

use common::{Site, text};

const DAG: &str = "hitl_dag";

impl Site {
    async fn ti_id(&self, task_id: &str) -> String {
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM task_instance WHERE task_id = $1")
            .bind(task_id)
            .fetch_one(self.pool())
            .await
            .expect("ti")
            .to_string()
    }

    /// One run with three HITL tasks: `ask` waiting (deferred, open
    /// request with a Markdown body holding a script tag), `done` answered
    /// by ann, `late` timed out without defaults.
    async fn fixture(&self) {
        let data = serde_json::json!({
            "dag_id": DAG,
            "tasks": [
                {"task_id": "ask", "upstream_task_ids": []},
                {"task_id": "done", "upstream_task_ids": []},
                {"task_id": "late", "upstream_task_ids": []}
            ]
        });
        self.sql(&format!(
            "INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, owners, schedule, schedule_summary)
             VALUES ('{DAG}', '/dags/h.py', 'h.py', false, 'ops', '{{}}', 'None');
             INSERT INTO dag_code (source_hash, fileloc, source_code) VALUES ('h1', '/dags/h.py', 'x');
             INSERT INTO dag_version (dag_id, version_number, dag_hash, data, fileloc, source_hash)
             VALUES ('{DAG}', 1, 'd1', '{data}', '/dags/h.py', 'h1');
             INSERT INTO serialized_dag (dag_id, dag_version_id, dag_hash)
             SELECT '{DAG}', id, 'd1' FROM dag_version WHERE dag_id = '{DAG}';
             INSERT INTO dag_run (dag_id, run_id, run_type, run_after, state, start_date)
             VALUES ('{DAG}', 'r1', 'manual', '2026-01-02', 'running', '2026-01-02');
             INSERT INTO task_instance (id, dag_id, run_id, task_id, state, try_number, max_tries, operator)
             VALUES (gen_random_uuid(), '{DAG}', 'r1', 'ask', 'deferred', 1, 0, 'ApprovalOperator'),
                    (gen_random_uuid(), '{DAG}', 'r1', 'done', 'success', 1, 0, 'HITLOperator'),
                    (gen_random_uuid(), '{DAG}', 'r1', 'late', 'failed', 1, 0, 'HITLOperator');
             INSERT INTO hitl_detail (ti_id, try_number, subject, body, options)
             SELECT id, 1, 'Ship it?', E'Release **1.2** <script>alert(1)</script>\\n\\n[notes](javascript:alert(2))',
                    '[\"Approve\", \"Reject\"]'
               FROM task_instance WHERE task_id = 'ask';
             INSERT INTO hitl_detail (ti_id, try_number, subject, body, options, created_at, responded_at,
                                      responded_by, chosen_options, params_input)
             SELECT id, 1, 'Which region?', '*pick one*', '[\"eu\", \"us\"]', now() - interval '1 hour',
                    now() - interval '10 minutes', '{{\"id\": \"7\", \"name\": \"ann\"}}', '[\"eu\"]', '{{\"n\": 3}}'
               FROM task_instance WHERE task_id = 'done';
             INSERT INTO hitl_detail (ti_id, try_number, subject, options, created_at, timeout_at, timed_out)
             SELECT id, 1, 'Too late?', '[\"yes\"]', now() - interval '2 hours', now() - interval '1 hour', true
               FROM task_instance WHERE task_id = 'late';"
        ))
        .await;
    }
}

fn section<'a>(html: &'a str, testid: &str) -> &'a str {
    html.split(&format!(r#"data-testid="{testid}""#))
        .nth(1)
        .and_then(|s| s.split("</table>").next())
        .unwrap_or_else(|| panic!("no {testid} in {html}"))
}

// Invariant: open requests and closed ones are listed apart; a closed one
// shows who answered, when, what they chose and their input, or that it
// timed out; an open one leaves the open list once answered.
#[tokio::test]
async fn the_list_has_open_and_answered_sections() {
    let site = Site::new().await;
    site.fixture().await;
    site.user("op", "pw-123456", "Op").await;
    let (cookie, _) = site.login("op", "pw-123456").await;
    let html = site.page("/required-actions", &cookie).await;
    let (ask, done, late) = (
        site.ti_id("ask").await,
        site.ti_id("done").await,
        site.ti_id("late").await,
    );
    let open = section(&html, "required-actions");
    assert!(open.contains(&ask), "{open}");
    assert!(!open.contains(&done) && !open.contains(&late), "{open}");
    let answered = section(&html, "answered-actions");
    assert!(!answered.contains(&ask), "{answered}");
    let done_row = answered
        .split(r#"data-testid="answered-action""#)
        .find(|r| r.contains(&done))
        .expect("done row");
    assert!(
        done_row.contains(r#"<td data-testid="answered-by">ann</td>"#),
        "{done_row}"
    );
    assert!(
        done_row.contains(r#"<td data-testid="answered-chosen">eu</td>"#),
        "{done_row}"
    );
    assert!(done_row.contains("{&#34;n&#34;:3}"), "{done_row}");
    assert!(done_row.contains("Response received"), "{done_row}");
    let late_row = answered
        .split(r#"data-testid="answered-action""#)
        .find(|r| r.contains(&late))
        .expect("late row");
    assert!(late_row.contains("No response received"), "{late_row}");
    // The most recently closed first: `done` (10 min ago) before `late` (1 h).
    assert!(answered.find(&done) < answered.find(&late), "{answered}");
    assert_eq!(
        text(site.get("/required-actions/count", Some(&cookie)).await).await,
        "1"
    );
}

// Invariant: a body is Markdown rendered without letting its raw HTML or a
// javascript: link through, on the list, the request and the TI page.
#[tokio::test]
async fn bodies_are_markdown_without_script() {
    let site = Site::new().await;
    site.fixture().await;
    site.user("op", "pw-123456", "Op").await;
    let (cookie, _) = site.login("op", "pw-123456").await;
    let ask = site.ti_id("ask").await;
    for path in [
        "/required-actions".to_owned(),
        format!("/required-actions/{ask}"),
        format!("/dags/{DAG}/runs/r1/tasks/ask"),
    ] {
        let html = site.page(&path, &cookie).await;
        assert!(
            html.contains("Release <strong>1.2</strong>"),
            "{path}: {html}"
        );
        assert!(!html.contains("<script>alert"), "{path}: {html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {html}"
        );
        assert!(
            !html.to_ascii_lowercase().contains("javascript:alert"),
            "{path}: {html}"
        );
    }
}

// Invariant: a request's page and its task instance's page show the answer.
#[tokio::test]
async fn request_and_task_pages_show_the_answer() {
    let site = Site::new().await;
    site.fixture().await;
    site.user("vi", "pw-123456", "Viewer").await;
    let (cookie, _) = site.login("vi", "pw-123456").await;
    let done = site.ti_id("done").await;
    let page = site
        .page(&format!("/required-actions/{done}"), &cookie)
        .await;
    assert!(
        page.contains(r#"<td data-testid="hitl-answer-by">ann</td>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<td data-testid="hitl-answer-chosen">eu</td>"#),
        "{page}"
    );
    assert!(page.contains("<em>pick one</em>"), "{page}");
    let ti = site
        .page(&format!("/dags/{DAG}/runs/r1/tasks/done"), &cookie)
        .await;
    let section = ti
        .split(r#"data-testid="ti-hitl""#)
        .nth(1)
        .expect("the TI page's request");
    assert!(section.contains("Which region?"), "{section}");
    assert!(
        section.contains("Chosen: <strong>eu</strong> by ann"),
        "{section}"
    );
    assert!(
        section.contains(&format!(r#"href="/required-actions/{done}""#)),
        "{section}"
    );
    let other = site
        .page(&format!("/dags/{DAG}/runs/r1/tasks/late"), &cookie)
        .await;
    assert!(other.contains("No response received"), "{other}");
}

// Invariant: a run's page lists its own requests, open and closed, each with
// its state and, once answered, who chose what.
#[tokio::test]
async fn the_run_page_lists_its_requests() {
    let site = Site::new().await;
    site.fixture().await;
    site.user("vi", "pw-123456", "Viewer").await;
    let (cookie, _) = site.login("vi", "pw-123456").await;
    let html = site.page(&format!("/dags/{DAG}/runs/r1"), &cookie).await;
    let table = section(&html, "run-required-actions");
    let row = |task: &str| {
        table
            .split(r#"data-testid="run-required-action""#)
            .find(|r| r.contains(&format!(r#"data-task-id="{task}""#)))
            .unwrap_or_else(|| panic!("no row for {task}: {table}"))
            .to_owned()
    };
    let (ask, done, late) = (row("ask"), row("done"), row("late"));
    assert!(ask.contains("Ship it?") && !ask.contains(" by "), "{ask}");
    assert!(done.contains("Response received"), "{done}");
    assert!(done.contains("<strong>eu</strong> by ann"), "{done}");
    assert!(late.contains("No response received"), "{late}");
    assert!(
        ask.contains(&format!(
            r#"href="/required-actions/{}""#,
            site.ti_id("ask").await
        )),
        "{ask}"
    );
}
