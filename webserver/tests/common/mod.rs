//! What the webserver's router tests share: a site on a database of the
//! test's own, requests through tower's `oneshot`, users and sign-in as a
//! browser does it, and readers of responses.
#![allow(dead_code)] // each test file uses a different part

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use sqlx::PgPool;
use tower::ServiceExt;
use updraft_core::store::users::{self, CreateOutcome, NewUser};
use updraft_core::timetable::ScheduleDefaults;
use updraft_testkit::TestDb;
use updraft_webserver::{AppState, hash_password};

pub const SCHEDULE: ScheduleDefaults = ScheduleDefaults {
    catchup_by_default: false,
    create_cron_data_intervals: true,
};

pub struct Site {
    pub db: TestDb,
    pub app: Router,
}

impl Site {
    pub async fn new() -> Self {
        let db = TestDb::new().await.expect("test database");
        let app = updraft_webserver::router(AppState::new(db.pool.clone(), SCHEDULE));
        Self { db, app }
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    pub async fn user(&self, username: &str, password: &str, role: &str) {
        let hash = hash_password(password).expect("hash");
        let mut conn = self.pool().acquire().await.expect("conn");
        let out = users::create(
            &mut conn,
            &NewUser {
                username,
                password_hash: &hash,
                role,
                email: None,
                first_name: "",
                last_name: "",
            },
        )
        .await
        .expect("create user");
        assert!(matches!(out, CreateOutcome::Created(_)), "{out:?}");
    }

    /// Runs SQL as it is (fixtures); panics with the statement on error.
    pub async fn sql(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(self.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }

    /// Signs in a user of `role` (created here); returns the session cookie.
    pub async fn session(&self, role: &str) -> String {
        let username = format!("u_{}", role.to_lowercase());
        self.user(&username, "pw-123456", role).await;
        self.login(&username, "pw-123456").await.0
    }

    /// The body of a GET that must answer 200.
    pub async fn page(&self, path: &str, cookie: &str) -> String {
        let res = self.get(path, Some(cookie)).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        text(res).await
    }

    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.app.clone().oneshot(req).await.expect("response")
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response<Body> {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    pub async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Response<Body> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::from(body)).expect("request"))
            .await
    }

    /// Posts the sign-in form as a browser would (CSRF cookie from GET /login).
    pub async fn try_login(&self, username: &str, password: &str, next: &str) -> Response<Body> {
        let form = self.get("/login", None).await;
        let csrf = cookie_value(&form, "updraft_login_csrf").expect("csrf cookie");
        let html = text(form).await;
        assert!(
            html.contains(&format!(r#"name="csrf_token" value="{csrf}""#)),
            "{html}"
        );
        let cookie = format!("updraft_login_csrf={csrf}");
        self.post(
            "/login",
            Some(&cookie),
            &[
                ("username", username),
                ("password", password),
                ("csrf_token", &csrf),
                ("next", next),
            ],
        )
        .await
    }

    /// Signs in; returns the session cookie (`name=value`) and the page's CSRF token.
    pub async fn login(&self, username: &str, password: &str) -> (String, String) {
        let res = self.try_login(username, password, "").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let token = cookie_value(&res, "updraft_session").expect("session cookie");
        let cookie = format!("updraft_session={token}");
        let home = text(self.get("/home", Some(&cookie)).await).await;
        let csrf = home
            .split(r#"name="csrf_token" value=""#)
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("csrf token on the page")
            .to_owned();
        (cookie, csrf)
    }
}

pub fn cookie_value(res: &Response<Body>, name: &str) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|r| r.split(';').next().unwrap_or("").to_owned())
        })
        .filter(|v| !v.is_empty())
}

pub fn location(res: &Response<Body>) -> String {
    res.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

pub async fn text(res: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}
