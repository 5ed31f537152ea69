//! A few lines of std HTTP/1.1 for the tests that talk to a running
//! `updraft webserver` over loopback (no HTTP client dependency), and a
//! signed-in session on top of it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One HTTP/1.1 exchange (`Connection: close`): status, headers, body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name` set by this reply.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| v.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
    }
}

pub fn http(port: u16, method: &str, path: &str, cookie: &str, form: &str) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{form}",
        form.len()
    );
    s.write_all(request.as_bytes()).expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a reply");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Signs in as a browser does; the session cookie, if any, and the reply.
/// A signed-in user: the session cookie and the session's CSRF token.
pub struct Session {
    pub port: u16,
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    pub fn new(port: u16, username: &str, password: &str) -> Self {
        let form = http(port, "GET", "/login", "", "");
        let csrf = form.cookie("updraft_login_csrf").expect("csrf cookie");
        let body = format!("username={username}&password={password}&csrf_token={csrf}&next=");
        let reply = http(
            port,
            "POST",
            "/login",
            &format!("updraft_login_csrf={csrf}"),
            &body,
        );
        assert_eq!(reply.status, 303, "sign-in of {username}: {}", reply.body);
        let cookie = format!(
            "updraft_session={}",
            reply.cookie("updraft_session").expect("session")
        );
        let home = http(port, "GET", "/home", &cookie, "");
        let csrf = home
            .body
            .split(r#"name="csrf_token" value=""#)
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("csrf token on /home")
            .to_owned();
        Self { port, cookie, csrf }
    }

    pub fn get(&self, path: &str) -> Reply {
        http(self.port, "GET", path, &self.cookie, "")
    }

    /// POSTs a form (`fields`, URL-encoded) with the session's CSRF token.
    pub fn post(&self, path: &str, fields: &str) -> Reply {
        let form = format!("csrf_token={}&{fields}", self.csrf);
        http(self.port, "POST", path, &self.cookie, &form)
    }
}
