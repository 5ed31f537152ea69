//! Reading and writing the two cookies: the session (`updraft_session`) and
//! the sign-in form's CSRF token (`updraft_login_csrf`, double submit).

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

pub const SESSION: &str = "updraft_session";
pub const LOGIN_CSRF: &str = "updraft_login_csrf";

/// The value of cookie `name` in the request.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, on `path`, for `max_age`
/// seconds (0: delete it); `Secure` (sent over https only) when the site is
/// served over https (`[webserver] cookie_secure`).
pub fn set(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn finds_a_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; updraft_session=xyz; b=2"),
        );
        assert_eq!(get(&h, SESSION).as_deref(), Some("xyz"));
        assert_eq!(get(&h, LOGIN_CSRF), None);
    }

    #[test]
    fn secure_only_when_asked() {
        assert!(set(SESSION, "v", "/", 10, true).ends_with("; Secure"));
        assert!(!set(SESSION, "v", "/", 10, false).contains("Secure"));
    }
}
