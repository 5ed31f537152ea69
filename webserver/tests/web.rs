//! The web UI through its router (tower's `oneshot`) on a real PostgreSQL
//! database of each test's own: sign-in, sessions, CSRF, roles, the audit
//! log and the DAG list.

mod common;

use axum::body::Body;
use axum::http::{Response, StatusCode, header};
use common::{Site, cookie_value, location, text};
use updraft_webserver::{Action, Role, allowed};

impl Site {
    async fn dag(&self, dag_id: &str, paused: bool, tags: &[&str]) {
        sqlx::query(
            "INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, owners, schedule, schedule_summary)
             VALUES ($1, '/dags/x.py', 'x.py', $2, 'ops', '{}', '@daily')",
        )
        .bind(dag_id)
        .bind(paused)
        .execute(self.pool())
        .await
        .expect("insert dag");
        for t in tags {
            sqlx::query("INSERT INTO dag_tag (dag_id, name) VALUES ($1, $2)")
                .bind(dag_id)
                .bind(t)
                .execute(self.pool())
                .await
                .expect("insert tag");
        }
    }

    async fn is_paused(&self, dag_id: &str) -> bool {
        sqlx::query_scalar("SELECT is_paused FROM dag WHERE dag_id = $1")
            .bind(dag_id)
            .fetch_one(self.pool())
            .await
            .expect("dag")
    }

    async fn audit_rows(&self) -> Vec<(String, Option<String>, Option<String>, serde_json::Value)> {
        sqlx::query_as("SELECT event, owner, dag_id, extra FROM audit_log ORDER BY id")
            .fetch_all(self.pool())
            .await
            .expect("audit rows")
    }
}

fn set_cookie_line(res: &Response<Body>, name: &str) -> String {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

// Invariant: a right password opens a session whose cookie is HttpOnly and
// SameSite=Lax, and only the token's hash is stored.
#[tokio::test]
async fn sign_in_opens_a_session() {
    let site = Site::new().await;
    site.user("ada", "correct horse", "Viewer").await;
    let form = text(site.get("/login", None).await).await;
    for field in [
        r#"name="username""#,
        r#"name="password""#,
        r#"type="hidden" name="csrf_token""#,
    ] {
        assert!(form.contains(field), "{field} in {form}");
    }
    let res = site.try_login("ada", "correct horse", "").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/home");
    let line = set_cookie_line(&res, "updraft_session");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Lax"),
        "{line}"
    );
    let token = cookie_value(&res, "updraft_session").expect("token");
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM user_session")
        .fetch_all(site.pool())
        .await
        .expect("sessions");
    assert_eq!(
        stored,
        [updraft_webserver::auth::password::token_hash(&token)]
    );
    assert_ne!(stored[0], token);
    let home = text(
        site.get("/home", Some(&format!("updraft_session={token}")))
            .await,
    )
    .await;
    assert!(
        home.contains(r#"<span data-testid="user-name">ada</span>"#),
        "{home}"
    );
}

// Invariant: `next` is followed only when it is a path on this site.
#[tokio::test]
async fn sign_in_follows_only_local_next() {
    let site = Site::new().await;
    site.user("ada", "pw", "Admin").await;
    let res = site.try_login("ada", "pw", "/home?search=x").await;
    assert_eq!(location(&res), "/home?search=x");
    let res = site.try_login("ada", "pw", "//evil.example/").await;
    assert_eq!(location(&res), "/home");
    let res = site.try_login("ada", "pw", "https://evil.example/").await;
    assert_eq!(location(&res), "/home");
}

// Invariant: a wrong password or an unknown user gets the form again, 401,
// and no session.
#[tokio::test]
async fn wrong_password_is_refused() {
    let site = Site::new().await;
    site.user("ada", "pw", "Admin").await;
    for (user, pw) in [("ada", "nope"), ("nobody", "pw")] {
        let res = site.try_login(user, pw, "").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(cookie_value(&res, "updraft_session").is_none());
        let html = text(res).await;
        assert!(html.contains("Invalid login. Please try again."), "{html}");
        assert!(html.contains(r#"name="username""#), "{html}");
    }
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM user_session")
        .fetch_one(site.pool())
        .await
        .expect("count");
    assert_eq!(sessions, 0);
}

// Invariant: after 5 failures in a row the account is locked for 60 s, even
// against the right password; once the lock has passed, it signs in.
#[tokio::test]
async fn five_failures_lock_the_account() {
    let site = Site::new().await;
    site.user("ada", "pw", "Admin").await;
    for i in 1..=4 {
        let res = site.try_login("ada", "wrong", "").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "failure {i}");
    }
    let res = site.try_login("ada", "wrong", "").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(text(res).await.contains("locked for"));
    let res = site.try_login("ada", "pw", "").await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    let html = text(res).await;
    assert!(html.contains("this account is locked for"), "{html}");
    let secs: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM locked_until - now())::float8 FROM app_user WHERE username = 'ada'",
    )
    .fetch_one(site.pool())
    .await
    .expect("locked_until");
    assert!((50.0..=61.0).contains(&secs), "locked for {secs} s");
    sqlx::query("UPDATE app_user SET locked_until = now() - interval '1 second'")
        .execute(site.pool())
        .await
        .expect("unlock");
    let res = site.try_login("ada", "pw", "").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

// Invariant: parallel guesses are counted one after the other: 8 at once
// lock the account after exactly 5 failures, and the other 3 are refused as
// locked without being counted.
#[tokio::test]
async fn parallel_guesses_cannot_pass_the_lock() {
    let site = Site::new().await;
    site.user("ada", "pw", "Admin").await;
    let replies =
        futures_util::future::join_all((0..8).map(|_| site.try_login("ada", "wrong", ""))).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429, 429, 429]);
    let (failed, locked): (i32, bool) = sqlx::query_as(
        "SELECT failed_logins, locked_until > now() FROM app_user WHERE username = 'ada'",
    )
    .fetch_one(site.pool())
    .await
    .expect("user");
    assert_eq!((failed, locked), (0, true));
}

// Invariant: every page but /login and /static needs a session.
#[tokio::test]
async fn pages_need_a_session() {
    let site = Site::new().await;
    site.dag("d1", true, &[]).await;
    for cookie in [None, Some("updraft_session=forged")] {
        let res = site.get("/home?search=a", cookie).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/login?next=%2Fhome%3Fsearch%3Da");
        let res = site
            .post("/dags/d1/pause", cookie, &[("is_paused", "false")])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(location(&res).starts_with("/login?next="));
    }
    assert!(site.is_paused("d1").await);
    assert_eq!(site.get("/login", None).await.status(), StatusCode::OK);
    let css = site.get("/static/updraft.css", None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(
        css.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
    assert_eq!(
        site.get("/static/nope.js", None).await.status(),
        StatusCode::NOT_FOUND
    );
}

// Invariant: a form without the right CSRF token changes nothing (403).
#[tokio::test]
async fn csrf_is_required() {
    let site = Site::new().await;
    site.user("ada", "pw", "Admin").await;
    site.dag("d1", true, &[]).await;
    // The sign-in form: the token must match the cookie.
    let res = site
        .post(
            "/login",
            Some("updraft_login_csrf=aaaa"),
            &[
                ("username", "ada"),
                ("password", "pw"),
                ("csrf_token", "bbbb"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = site
        .post("/login", None, &[("username", "ada"), ("password", "pw")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Signed-in forms: the session's token.
    let (cookie, csrf) = site.login("ada", "pw").await;
    for form in [
        vec![("is_paused", "false")],
        vec![("is_paused", "false"), ("csrf_token", "forged")],
    ] {
        let res = site.post("/dags/d1/pause", Some(&cookie), &form).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    assert!(site.is_paused("d1").await);
    assert!(site.audit_rows().await.is_empty());
    let res = site
        .post("/logout", Some(&cookie), &[("csrf_token", "forged")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        site.get("/home", Some(&cookie)).await.status(),
        StatusCode::OK
    );
    let res = site
        .post(
            "/dags/d1/pause",
            Some(&cookie),
            &[("is_paused", "false"), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

// Invariant: signing out ends the session for good (the row is deleted).
#[tokio::test]
async fn logout_ends_the_session() {
    let site = Site::new().await;
    site.user("ada", "pw", "Viewer").await;
    let (cookie, csrf) = site.login("ada", "pw").await;
    let res = site
        .post("/logout", Some(&cookie), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    assert!(set_cookie_line(&res, "updraft_session").contains("Max-Age=0"));
    let res = site.get("/home", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM user_session")
        .fetch_one(site.pool())
        .await
        .expect("count");
    assert_eq!(left, 0);
}

// Invariant: the pause toggle obeys the permission table for every role
// (Admin, Op, User may; Viewer may not), and every change is audited with
// who did it.
#[tokio::test]
async fn pause_toggle_per_role() {
    let site = Site::new().await;
    site.dag("d1", true, &[]).await;
    for role in Role::ALL {
        let name = format!("u_{}", role.name().to_lowercase());
        site.user(&name, "pw", role.name()).await;
        let (cookie, csrf) = site.login(&name, "pw").await;
        let home = text(site.get("/home", Some(&cookie)).await).await;
        // Airflow's defaults, written out: the table must agree with them.
        let may = role != Role::Viewer;
        assert_eq!(allowed(role, Action::EditDags), may, "{role}");
        assert_eq!(
            home.contains(r#"data-testid="pause-toggle""#),
            may,
            "{role}: toggle shown"
        );
        let before = site.audit_rows().await.len();
        let was = site.is_paused("d1").await;
        let want = if was { "false" } else { "true" };
        let res = site
            .post(
                "/dags/d1/pause",
                Some(&cookie),
                &[("is_paused", want), ("csrf_token", &csrf)],
            )
            .await;
        let rows = site.audit_rows().await;
        if may {
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{role}");
            assert_eq!(location(&res), "/home");
            assert_eq!(site.is_paused("d1").await, !was, "{role}");
            assert_eq!(rows.len(), before + 1, "{role}");
            let (event, owner, dag_id, extra) = rows.last().cloned().expect("row");
            assert_eq!(event, if was { "unpaused" } else { "paused" });
            assert_eq!(owner.as_deref(), Some(name.as_str()));
            assert_eq!(dag_id.as_deref(), Some("d1"));
            assert_eq!(extra["is_paused"], serde_json::json!(!was));
        } else {
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
            let msg = text(res).await;
            assert!(
                msg.contains("Access denied: your role (Viewer) may not pause"),
                "{msg}"
            );
            assert_eq!(site.is_paused("d1").await, was, "{role}");
            assert_eq!(rows.len(), before, "{role}");
        }
    }
    // An unknown DAG is a 404, not an audit row.
    site.user("boss", "pw", "Admin").await;
    let (cookie, csrf) = site.login("boss", "pw").await;
    let before = site.audit_rows().await.len();
    let res = site
        .post(
            "/dags/nope/pause",
            Some(&cookie),
            &[("is_paused", "true"), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(site.audit_rows().await.len(), before);
}

fn row_ids(html: &str) -> Vec<String> {
    html.split(r#"data-testid="dag-row" data-dag-id=""#)
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

// Invariant: the DAG list shows active DAGs with their last run, filters by
// id, tag and paused, and lists import errors with file and message.
#[tokio::test]
async fn dag_list_filters_and_banner() {
    let site = Site::new().await;
    site.user("ada", "pw", "Viewer").await;
    site.dag("alpha_etl", false, &["etl", "daily"]).await;
    site.dag("beta_report", true, &["report"]).await;
    site.dag("gamma_etl", true, &["etl"]).await;
    site.dag("gone", false, &["etl"]).await;
    sqlx::query("UPDATE dag SET is_active = false WHERE dag_id = 'gone'")
        .execute(site.pool())
        .await
        .expect("deactivate");
    sqlx::query(
        "INSERT INTO dag_run (dag_id, run_id, run_type, state, run_after, end_date)
         VALUES ('alpha_etl', 'r1', 'manual', 'failed', now() - interval '1 hour', now()),
                ('alpha_etl', 'r2', 'manual', 'success', now(), now())",
    )
    .execute(site.pool())
    .await
    .expect("runs");
    let (cookie, _) = site.login("ada", "pw").await;
    let page = |q: &'static str| {
        let site = &site;
        let cookie = cookie.clone();
        async move { text(site.get(&format!("/home{q}"), Some(&cookie)).await).await }
    };
    let all = page("").await;
    assert_eq!(row_ids(&all), ["alpha_etl", "beta_report", "gamma_etl"]);
    assert!(
        all.contains(r#"class="state state-success""#),
        "latest run's state shown"
    );
    assert!(!all.contains("state-failed"), "only the latest run's badge");
    let dots: Vec<&str> = all
        .split(r#"data-testid="run-dot" data-state=""#)
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert_eq!(
        dots,
        ["failed", "success"],
        "latest runs as dots, oldest first"
    );
    assert!(
        all.contains(r#"href="/dags/alpha_etl/runs/r2""#),
        "a dot links to its run"
    );
    assert!(!all.contains(r#"data-testid="import-errors""#));
    assert_eq!(
        row_ids(&page("?search=ETL").await),
        ["alpha_etl", "gamma_etl"]
    );
    assert_eq!(row_ids(&page("?tags=report").await), ["beta_report"]);
    assert_eq!(
        row_ids(&page("?tags=report&tags=daily").await),
        ["alpha_etl", "beta_report"]
    );
    assert_eq!(
        row_ids(&page("?paused=true").await),
        ["beta_report", "gamma_etl"]
    );
    assert_eq!(
        row_ids(&page("?paused=false&tags=etl").await),
        ["alpha_etl"]
    );
    assert_eq!(
        row_ids(&page("?search=%25").await),
        Vec::<String>::new(),
        "% is literal"
    );
    sqlx::query(
        "INSERT INTO import_error (filename, kind, message, line)
         VALUES ('/dags/broken.py', 'exception', 'NameError: name ''x'' is not defined', 7)",
    )
    .execute(site.pool())
    .await
    .expect("import error");
    let with_error = page("").await;
    let banner = with_error
        .split(r#"data-testid="import-errors""#)
        .nth(1)
        .expect("banner");
    assert!(banner.contains("/dags/broken.py:7"), "{banner}");
    assert!(
        banner.contains("NameError: name &#39;x&#39; is not defined"),
        "{banner}"
    );
}
