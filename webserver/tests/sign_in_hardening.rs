//! Sign-in hardening through the router on a real PostgreSQL database:
//! per-address throttling on top of the account lock, `Secure` cookies
//! when configured, and expired sessions deleted on sign-in.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use common::{SCHEDULE, Site, cookie_value, text};
use tower::ServiceExt;
use updraft_webserver::AppState;
use updraft_webserver::auth::ip_throttle::IpThrottle;

async fn site_with(cookie_secure: bool, per_ip: usize) -> Site {
    let db = updraft_testkit::TestDb::new().await.expect("test database");
    let app = updraft_webserver::router(AppState {
        cookie_secure,
        sign_in_ips: Arc::new(IpThrottle::new(per_ip, Duration::from_secs(60))),
        ..AppState::new(db.pool.clone(), SCHEDULE)
    });
    Site { db, app }
}

/// Posts the sign-in form from `from` (the peer address the server sees).
async fn login_from(site: &Site, from: &str, username: &str, password: &str) -> Response<Body> {
    let addr: SocketAddr = from.parse().expect("address");
    let form = site.get("/login", None).await;
    let csrf = cookie_value(&form, "updraft_login_csrf").expect("csrf cookie");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("username", username),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .finish();
    let mut req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("updraft_login_csrf={csrf}"))
        .body(Body::from(body))
        .expect("request");
    req.extensions_mut().insert(ConnectInfo(addr));
    site.app.clone().oneshot(req).await.expect("response")
}

// Invariant: after N failed sign-ins from one address (different usernames,
// so no account lock), that address is refused with 429, even with a right
// password; another address still signs in.
#[tokio::test]
async fn one_address_is_throttled_after_n_failures() {
    let site = site_with(false, 3).await;
    site.user("ada", "pw-123456", "Admin").await;
    for user in ["u1", "u2", "u3"] {
        let res = login_from(&site, "10.0.0.1:5000", user, "guess").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_from(&site, "10.0.0.1:5001", "ada", "pw-123456").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(cookie_value(&res, "updraft_session").is_none());
    let html = text(res).await;
    assert!(
        html.contains("Too many failed sign-ins from your address (3 within 60 s)"),
        "{html}"
    );
    let res = login_from(&site, "10.0.0.2:5000", "ada", "pw-123456").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(cookie_value(&res, "updraft_session").is_some());
}

fn set_cookie_lines(res: &Response<Body>) -> Vec<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

// Invariant: with cookie_secure every cookie the site sets carries
// `Secure`; without it none does (plain-http sites keep working).
#[tokio::test]
async fn cookies_are_secure_when_configured() {
    for secure in [true, false] {
        let site = site_with(secure, 20).await;
        site.user("ada", "pw-123456", "Admin").await;
        let form = site.get("/login", None).await;
        let res = site.try_login("ada", "pw-123456", "").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let mut lines = set_cookie_lines(&form);
        lines.extend(set_cookie_lines(&res));
        assert!(lines.len() >= 3, "{lines:?}");
        for line in &lines {
            assert_eq!(line.contains("; Secure"), secure, "{line}");
        }
    }
}

// Invariant: signing in deletes the sessions that have expired (anyone's)
// and keeps the live ones.
#[tokio::test]
async fn sign_in_deletes_expired_sessions() {
    let site = Site::new().await;
    site.user("ada", "pw-123456", "Admin").await;
    site.user("bob", "pw-123456", "Viewer").await;
    let (live, _) = site.login("bob", "pw-123456").await;
    sqlx::query(
        "INSERT INTO user_session (token_hash, user_id, csrf_token, created_at, expires_at)
         SELECT 'old-' || g, u.id, 'c', now() - interval '3 days', now() - interval '1 day'
           FROM app_user u, generate_series(1, 3) g WHERE u.username = 'bob'",
    )
    .execute(site.pool())
    .await
    .expect("expired sessions");
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM user_session WHERE expires_at <= now()")
            .fetch_one(site.pool())
            .await
            .expect("count")
    };
    assert_eq!(count().await, 3);
    site.login("ada", "pw-123456").await;
    assert_eq!(count().await, 0);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM user_session")
        .fetch_one(site.pool())
        .await
        .expect("count");
    assert_eq!(total, 2, "bob's live session and ada's new one");
    let home = site.get("/home", Some(&live)).await;
    assert_eq!(home.status(), StatusCode::OK);
}
