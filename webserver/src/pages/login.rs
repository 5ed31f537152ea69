//! `GET/POST /login` (public) and `POST /logout` (needs a session).
//! The sign-in form's fields are Airflow's (`username`, `password`); its
//! CSRF token is a double-submit cookie, since there is no session yet.

use super::CsrfForm;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use updraft_core::store::sessions;

use crate::AppState;
use crate::auth::ip_throttle::ClientIp;
use crate::auth::login::{
    Attempt, SESSION_SECONDS, SignIn, locked_message, sign_in, throttled_message,
};
use crate::auth::session::{CSRF_REFUSED, CurrentUser, is_local_path};
use crate::auth::{cookies, password, same_secret};
use crate::error::{WebError, WebResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(form).post(submit))
}

pub fn private_router() -> Router<AppState> {
    Router::new()
        .route("/logout", post(logout))
        .route("/", get(|| async { Redirect::to("/home") }))
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    csrf_token: String,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

/// The form, with a CSRF token also set as a cookie (kept if already set).
async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let csrf_token = cookies::get(&headers, cookies::LOGIN_CSRF)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(password::random_token);
    page(
        StatusCode::OK,
        state.cookie_secure,
        LoginPage {
            csrf_token,
            next: q.next,
            username: String::new(),
            error: None,
        },
    )
}

fn page(status: StatusCode, secure: bool, login: LoginPage) -> Response {
    let cookie = cookies::set(
        cookies::LOGIN_CSRF,
        &login.csrf_token,
        "/login",
        3600,
        secure,
    );
    (status, [(header::SET_COOKIE, cookie)], login).into_response()
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    next: String,
}

async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> WebResult<Response> {
    let cookie = cookies::get(&headers, cookies::LOGIN_CSRF).unwrap_or_default();
    if !same_secret(&cookie, &f.csrf_token) {
        return Err(WebError::Forbidden(CSRF_REFUSED.to_owned()));
    }
    let secure = state.cookie_secure;
    let again = |status, error: String| {
        page(
            status,
            secure,
            LoginPage {
                csrf_token: f.csrf_token.clone(),
                next: f.next.clone(),
                username: f.username.clone(),
                error: Some(error),
            },
        )
    };
    let attempt = Attempt {
        username: &f.username,
        password: &f.password,
        ip,
    };
    Ok(
        match sign_in(&state.pool, &state.sign_in_ips, attempt).await? {
            SignIn::Session(token) => {
                let to = if is_local_path(&f.next) {
                    f.next.as_str()
                } else {
                    "/home"
                };
                (
                    // Two cookies: `[(K, V); 2]` would keep only the last.
                    AppendHeaders([
                        (
                            header::SET_COOKIE,
                            cookies::set(cookies::SESSION, &token, "/", SESSION_SECONDS, secure),
                        ),
                        (
                            header::SET_COOKIE,
                            cookies::set(cookies::LOGIN_CSRF, "", "/login", 0, secure),
                        ),
                    ]),
                    Redirect::to(to),
                )
                    .into_response()
            }
            SignIn::Invalid => again(
                StatusCode::UNAUTHORIZED,
                "Invalid login. Please try again.".to_owned(),
            ),
            SignIn::Locked { until } => again(StatusCode::TOO_MANY_REQUESTS, locked_message(until)),
            SignIn::Throttled { retry_after } => again(
                StatusCode::TOO_MANY_REQUESTS,
                throttled_message(&state.sign_in_ips, retry_after),
            ),
        },
    )
}

/// Ends the session and clears its cookie.
async fn logout(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentUser>,
    Form(f): Form<CsrfForm>,
) -> WebResult<Response> {
    me.check_csrf(&f.csrf_token)?;
    let mut conn = state.pool.acquire().await?;
    sessions::delete(&mut conn, &me.token_hash).await?;
    Ok((
        [(
            header::SET_COOKIE,
            cookies::set(cookies::SESSION, "", "/", 0, state.cookie_secure),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}
