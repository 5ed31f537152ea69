//! The web UI's commands through the real binary: `users create|list`,
//! `webserver`, and `standalone`'s first admin, spoken to over loopback
//! HTTP (`support::http`).

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use support::Updraft;
use support::http::{Reply, http};

fn sign_in(port: u16, username: &str, password: &str) -> (Option<String>, Reply) {
    let form = http(port, "GET", "/login", "", "");
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.cookie("updraft_login_csrf").expect("csrf cookie");
    let body = format!("username={username}&password={password}&csrf_token={csrf}&next=");
    let reply = http(
        port,
        "POST",
        "/login",
        &format!("updraft_login_csrf={csrf}"),
        &body,
    );
    (
        reply.cookie("updraft_session").filter(|c| !c.is_empty()),
        reply,
    )
}

/// A running `updraft` process whose stdout and stderr lines arrive on a channel.
struct Proc {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn start(u: &Updraft, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = u.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start updraft");
        let (tx, lines) = channel();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(l);
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line containing `what`, waiting up to 120 s.
    fn wait_for(&mut self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(l) = self.seen.iter().find(|l| l.contains(what)) {
                return l.clone();
            }
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.seen.push(line);
            }
        }
        panic!("no line with {what:?}:\n{}", self.seen.join("\n"));
    }

    /// The port of the `Webserver listening on http://127.0.0.1:PORT` line.
    fn web_port(&mut self) -> u16 {
        let line = self.wait_for("Webserver listening on http://");
        line.rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("port in {line:?}"))
    }

    /// SIGTERM, then the exit status and every line printed.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        std::thread::sleep(Duration::from_millis(50));
        self.seen.extend(self.lines.try_iter());
        (status, self.seen.join("\n"))
    }
}

// Invariant: `users create` takes Airflow's arguments, refuses an unknown
// role or a taken username with exit 1, and `users list` shows the roles.
#[tokio::test]
async fn users_create_and_list() {
    let u = Updraft::new().await;
    let out = u.ok(&[
        "users",
        "create",
        "--username",
        "ada",
        "--password",
        "pw",
        "--role",
        "Admin",
        "--email",
        "ada@example.com",
        "--firstname",
        "Ada",
        "--lastname",
        "Lovelace",
    ]);
    assert!(
        out.contains("User \"ada\" created with role \"Admin\""),
        "{out}"
    );
    u.ok(&["users", "create", "-u", "bob", "-p", "pw", "-r", "Viewer"]);
    let bad_role = u.run(&[
        "users",
        "create",
        "--username",
        "eve",
        "--password",
        "pw",
        "--role",
        "Root",
    ]);
    assert_eq!(bad_role.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&bad_role.stderr);
    assert!(msg.contains("Root is not a valid role"), "{msg}");
    let taken = u.run(&[
        "users",
        "create",
        "--username",
        "ada",
        "--password",
        "x",
        "--role",
        "Op",
    ]);
    assert_eq!(taken.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&taken.stderr);
    assert!(msg.contains("ada already exist"), "{msg}");
    let list = u.json(&["users", "list", "-o", "json"]);
    let rows: Vec<(String, serde_json::Value, serde_json::Value)> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["username"].as_str().unwrap_or("").to_owned(),
                r["roles"].clone(),
                r["email"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "ada".into(),
                serde_json::json!(["Admin"]),
                serde_json::json!("ada@example.com")
            ),
            (
                "bob".into(),
                serde_json::json!(["Viewer"]),
                serde_json::Value::Null
            ),
        ]
    );
    assert!(
        !list.to_string().contains("argon2"),
        "no password hash in the list"
    );
}

// Invariant: `updraft webserver` says where it listens, serves the sign-in
// form and the session-guarded pages there, and stops on SIGTERM.
#[tokio::test]
async fn webserver_serves_and_stops() {
    let u = Updraft::new().await;
    u.ok(&["users", "create", "-u", "op", "-p", "secret", "-r", "Op"]);
    let mut web = Proc::start(&u, &["webserver", "--port", "0"], &[]);
    let port = web.web_port();
    let home = http(port, "GET", "/home", "", "");
    assert_eq!(home.status, 303);
    assert_eq!(home.header("location"), Some("/login?next=%2Fhome"));
    let (session, reply) = sign_in(port, "op", "wrong");
    assert_eq!((session, reply.status), (None, 401));
    let (session, reply) = sign_in(port, "op", "secret");
    assert_eq!(reply.status, 303);
    let session = session.expect("session cookie");
    let home = http(
        port,
        "GET",
        "/home",
        &format!("updraft_session={session}"),
        "",
    );
    assert_eq!(home.status, 200);
    assert!(
        home.body
            .contains(r#"<span data-testid="user-name">op</span>"#),
        "{}",
        home.body
    );
    let (status, text) = web.stop();
    assert!(status.success(), "clean exit on SIGTERM: {status}\n{text}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "stopped listening"
    );
}

// Invariant: standalone's first start creates `admin` with a generated
// password printed once, which signs in; a taken port does not stop it.
#[tokio::test]
async fn standalone_creates_the_admin_once() {
    let u = Updraft::new().await;
    let kafka = (
        "AIRFLOW_CONN_KAFKA_DEFAULT",
        "kafka://?bootstrap.servers=127.0.0.1%3A9",
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_port = taken.local_addr().expect("addr").port().to_string();
    let mut first = Proc::start(
        &u,
        &["standalone"],
        &[kafka, ("UPDRAFT__WEBSERVER__PORT", &taken_port)],
    );
    let admin = first.wait_for("Admin user: admin, password: ");
    let password = admin.rsplit(' ').next().expect("password").to_owned();
    assert!(password.len() >= 16, "{admin}");
    first.wait_for("Webserver not started");
    first.wait_for("Scheduler and a worker pool");
    let (status, text) = first.stop();
    assert!(
        status.success(),
        "standalone runs on without its webserver: {status}\n{text}"
    );
    drop(taken);

    let mut second = Proc::start(
        &u,
        &["standalone"],
        &[kafka, ("UPDRAFT__WEBSERVER__PORT", "0")],
    );
    let port = second.web_port();
    let (session, reply) = sign_in(port, "admin", &password);
    assert_eq!(reply.status, 303, "{}", reply.body);
    let home = http(
        port,
        "GET",
        "/home",
        &format!("updraft_session={}", session.expect("session")),
        "",
    );
    assert!(
        home.body
            .contains(r#"<span data-testid="user-name">admin</span>"#),
        "{}",
        home.body
    );
    let (status, text) = second.stop();
    assert!(status.success(), "{status}\n{text}");
    assert!(
        !text.contains("Admin user:"),
        "printed only on the first start:\n{text}"
    );
    let users: Vec<String> = sqlx::query_scalar("SELECT username FROM app_user")
        .fetch_all(&u.db.pool)
        .await
        .expect("users");
    assert_eq!(users, ["admin"]);
}
