//! Human in the loop end to end: the real `scheduler`, `worker` and
//! `webserver` processes, answers over loopback HTTP (a few lines of std,
//! as in web_cli.rs) and through `core::store::hitl`. DAGs:
//! `fixtures/hitl/hitl.py`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Running, Updraft};
use updraft_core::store::hitl::{self, Answer, Answered};
use uuid::Uuid;

const DAGS: &str = include_str!("fixtures/hitl/hitl.py");

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| v.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
    }
}

fn http(port: u16, method: &str, path: &str, cookie: &str, form: &str) -> Reply {
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

/// A signed-in user: the session cookie and the session's CSRF token.
struct Session {
    port: u16,
    cookie: String,
    csrf: String,
}

impl Session {
    fn new(port: u16, username: &str, password: &str) -> Self {
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

    fn get(&self, path: &str) -> Reply {
        http(self.port, "GET", path, &self.cookie, "")
    }

    /// POSTs an answer (`fields` after the CSRF token).
    fn answer(&self, ti: Uuid, fields: &str) -> Reply {
        let form = format!("csrf_token={}&{fields}", self.csrf);
        http(
            self.port,
            "POST",
            &format!("/required-actions/{ti}"),
            &self.cookie,
            &form,
        )
    }
}

/// `updraft webserver` on a free port, stopped when dropped.
struct Web {
    child: Child,
    port: u16,
}

impl Web {
    fn start(u: &Updraft) -> Self {
        let mut child = u
            .command(&["webserver", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("webserver");
        let (tx, rx): (_, Receiver<String>) = channel();
        for out in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for l in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(l);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(200))
                && let Some(p) = l.split("Webserver listening on http://").nth(1)
            {
                let port = p.rsplit(':').next().and_then(|p| p.trim().parse().ok());
                return Self {
                    child,
                    port: port.expect("port"),
                };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the webserver did not say where it listens");
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

async fn setup(dags: &[&str], users: &[(&str, &str)]) -> Updraft {
    let u = Updraft::new().await;
    u.write_dag("hitl.py", DAGS);
    u.ok(&["dags", "reserialize"]);
    for d in dags {
        u.ok(&["dags", "unpause", d]);
    }
    for (name, role) in users {
        u.ok(&[
            "users",
            "create",
            "-u",
            name,
            "-p",
            "pw-secret-1",
            "-r",
            role,
        ]);
    }
    u
}

fn trigger(u: &Updraft, dag: &str, run: &str) {
    u.ok(&["dags", "trigger", dag, "--run-id", run]);
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Ti {
    id: Uuid,
    state: Option<String>,
    try_number: i32,
}

async fn ti(u: &Updraft, dag: &str, run: &str, task: &str) -> Ti {
    sqlx::query_as(
        "SELECT id, state, try_number FROM task_instance
          WHERE dag_id = $1 AND run_id = $2 AND task_id = $3",
    )
    .bind(dag)
    .bind(run)
    .bind(task)
    .fetch_one(&u.db.pool)
    .await
    .expect("task instance")
}

/// Polls until `task` is in one of `states`, or 60 s pass.
async fn wait_state(u: &Updraft, dag: &str, run: &str, task: &str, states: &[&str]) -> Ti {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = ti(u, dag, run, task).await;
        if t.state.as_deref().is_some_and(|s| states.contains(&s)) || Instant::now() > deadline {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn xcom(u: &Updraft, ti: Uuid) -> Value {
    sqlx::query_scalar("SELECT value FROM xcom WHERE ti_id = $1 AND key = 'return_value'")
        .bind(ti)
        .fetch_one(&u.db.pool)
        .await
        .expect("return_value")
}

async fn detail(u: &Updraft, ti: Uuid) -> hitl::Detail {
    let mut c = u.db.pool.acquire().await.expect("conn");
    hitl::get(&mut c, ti)
        .await
        .expect("get")
        .expect("a request")
}

async fn answer(u: &Updraft, ti: Uuid, chosen: &[&str], params: Value) -> Answered {
    let mut tx = u.db.pool.begin().await.expect("tx");
    let a = Answer {
        chosen_options: chosen.iter().map(|s| (*s).to_owned()).collect(),
        params_input: params,
        responded_by: json!({"id": "t", "name": "test"}),
    };
    let out = hitl::answer(&mut tx, ti, &a).await.expect("answer");
    tx.commit().await.expect("commit");
    out
}

// Invariant: an approval waits in `deferred` holding no worker slot; Viewer
// and User are refused (403) and change nothing, as is a wrong CSRF token;
// Admin's approval is taken once (a second answer is 409, audited once) and
// the same try resumes and succeeds, so the downstream task runs.
#[tokio::test]
async fn approval_over_http_runs_the_downstream_task() {
    let u = setup(
        &["approve"],
        &[("admin", "Admin"), ("viewer", "Viewer"), ("user", "User")],
    )
    .await;
    trigger(&u, "approve", "r");
    let _procs = Running::start(&u, 1, 30);
    let web = Web::start(&u);

    let gate = wait_state(
        &u,
        "approve",
        "r",
        "gate",
        &["deferred", "failed", "success"],
    )
    .await;
    assert_eq!(gate.state.as_deref(), Some("deferred"));
    let other = wait_state(&u, "approve", "r", "other", &["success", "failed"]).await;
    assert_eq!(
        other.state.as_deref(),
        Some("success"),
        "the one slot is free"
    );
    let d = detail(&u, gate.id).await;
    assert_eq!(d.subject, "Release 1.2?");
    assert_eq!(d.body.as_deref(), Some("Ship **1.2**"));
    assert_eq!(d.options, ["Approve", "Reject"]);

    let admin = Session::new(web.port, "admin", "pw-secret-1");
    let list = admin.get("/required-actions");
    assert!(
        list.body.contains(r#"data-testid="required-action""#),
        "{}",
        list.body
    );
    assert!(list.body.contains(&gate.id.to_string()), "{}", list.body);
    assert_eq!(admin.get("/required-actions/count").body, "1");
    let form = admin.get(&format!("/required-actions/{}", gate.id));
    assert!(
        form.body.contains(r#"data-option="Approve""#),
        "{}",
        form.body
    );

    for who in ["viewer", "user"] {
        let s = Session::new(web.port, who, "pw-secret-1");
        let r = s.answer(gate.id, "chosen=Approve");
        assert_eq!(r.status, 403, "{who}: {}", r.body);
    }
    let forged = http(
        web.port,
        "POST",
        &format!("/required-actions/{}", gate.id),
        &admin.cookie,
        "csrf_token=forged&chosen=Approve",
    );
    assert_eq!(forged.status, 403);
    assert!(
        detail(&u, gate.id).await.responded_at.is_none(),
        "refusals change nothing"
    );
    assert_eq!(
        ti(&u, "approve", "r", "gate").await.state.as_deref(),
        Some("deferred")
    );

    assert_eq!(admin.answer(gate.id, "chosen=Approve").status, 303);
    let again = admin.answer(gate.id, "chosen=Reject");
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already answered"), "{}", again.body);

    let deploy = wait_state(
        &u,
        "approve",
        "r",
        "deploy",
        &["success", "failed", "skipped"],
    )
    .await;
    assert_eq!(deploy.state.as_deref(), Some("success"));
    let gate = ti(&u, "approve", "r", "gate").await;
    assert_eq!(
        (gate.state.as_deref(), gate.try_number),
        (Some("success"), 1)
    );
    let x = xcom(&u, gate.id).await;
    assert_eq!(x["chosen_options"], json!(["Approve"]));
    assert_eq!(x["responded_by_user"]["name"], "admin");
    assert!(x["responded_at"].is_string(), "{x}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event = 'hitl_answered' AND owner = 'admin'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
    assert_eq!(admin.get("/required-actions/count").body, "0");
}

// Invariant: Op may answer unassigned requests; Reject with fail_on_reject
// fails the approval (downstream upstream_failed); plain Reject succeeds and
// skips the direct downstream; a branch follows the mapped option; an entry
// returns its params; answers are write-once and checked against the options.
#[tokio::test]
async fn reject_branch_and_entry() {
    let u = setup(&["approve", "strict", "branchy", "entry"], &[("op", "Op")]).await;
    for d in ["approve", "strict", "branchy", "entry"] {
        trigger(&u, d, "r");
    }
    let _procs = Running::start(&u, 2, 30);
    let web = Web::start(&u);
    let op = Session::new(web.port, "op", "pw-secret-1");

    let strict = wait_state(&u, "strict", "r", "gate", &["deferred"]).await;
    assert_eq!(op.answer(strict.id, "chosen=Reject").status, 303);
    let strict = wait_state(&u, "strict", "r", "gate", &["failed", "success"]).await;
    assert_eq!(strict.state.as_deref(), Some("failed"));
    let deploy = wait_state(&u, "strict", "r", "deploy", &["upstream_failed", "success"]).await;
    assert_eq!(deploy.state.as_deref(), Some("upstream_failed"));

    let gate = wait_state(&u, "approve", "r", "gate", &["deferred"]).await;
    assert_eq!(
        answer(&u, gate.id, &["Maybe"], json!({})).await,
        Answered::Invalid(r#""Maybe" is not one of the options ["Approve", "Reject"]."#.into())
    );
    assert_eq!(
        answer(&u, gate.id, &["Approve", "Reject"], json!({})).await,
        Answered::Invalid("Only one option may be chosen.".into())
    );
    assert_eq!(
        answer(&u, gate.id, &["Reject"], json!({})).await,
        Answered::Applied
    );
    assert_eq!(
        answer(&u, gate.id, &["Approve"], json!({})).await,
        Answered::AlreadyAnswered
    );
    let deploy = wait_state(&u, "approve", "r", "deploy", &["skipped", "success"]).await;
    assert_eq!(deploy.state.as_deref(), Some("skipped"));
    assert_eq!(
        ti(&u, "approve", "r", "gate").await.state.as_deref(),
        Some("success")
    );

    let choose = wait_state(&u, "branchy", "r", "choose", &["deferred"]).await;
    assert_eq!(
        answer(&u, choose.id, &["Full"], json!({})).await,
        Answered::Applied
    );
    let full = wait_state(&u, "branchy", "r", "full", &["success", "skipped"]).await;
    assert_eq!(full.state.as_deref(), Some("success"));
    let canary = wait_state(&u, "branchy", "r", "canary", &["success", "skipped"]).await;
    assert_eq!(canary.state.as_deref(), Some("skipped"));

    let notes = wait_state(&u, "entry", "r", "notes", &["deferred"]).await;
    assert_eq!(detail(&u, notes.id).await.options, ["OK"]);
    let r = op.answer(notes.id, "chosen=OK&param.ticket=42");
    assert_eq!(r.status, 303, "{}", r.body);
    let notes = wait_state(&u, "entry", "r", "notes", &["success", "failed"]).await;
    assert_eq!(notes.state.as_deref(), Some("success"));
    assert_eq!(
        xcom(&u, notes.id).await["params_input"],
        json!({"ticket": 42})
    );
}

// Invariant: with assigned users only they answer (Admin is refused);
// several options and typed params (checked against their schema) come back.
#[tokio::test]
async fn only_assigned_users_answer() {
    let u = setup(&["assigned"], &[("admin", "Admin"), ("alice", "User")]).await;
    trigger(&u, "assigned", "r");
    let _procs = Running::start(&u, 1, 30);
    let web = Web::start(&u);
    let pick = wait_state(&u, "assigned", "r", "pick", &["deferred"]).await;

    let admin = Session::new(web.port, "admin", "pw-secret-1");
    assert_eq!(admin.answer(pick.id, "chosen=eu").status, 403);
    let alice = Session::new(web.port, "alice", "pw-secret-1");
    let form = alice.get(&format!("/required-actions/{}", pick.id));
    assert!(form.body.contains(r#"type="checkbox""#), "{}", form.body);
    let bad = alice.answer(pick.id, "chosen=eu&param.rate=lots");
    assert_eq!(bad.status, 422, "{}", bad.body);
    let r = alice.answer(
        pick.id,
        "chosen=eu&chosen=us&param.rate=0.5&param.window=night",
    );
    assert_eq!(r.status, 303, "{}", r.body);

    let pick = wait_state(&u, "assigned", "r", "pick", &["success", "failed"]).await;
    assert_eq!(pick.state.as_deref(), Some("success"));
    let x = xcom(&u, pick.id).await;
    assert_eq!(x["chosen_options"], json!(["eu", "us"]));
    assert_eq!(x["params_input"], json!({"rate": 0.5, "window": "night"}));
    assert_eq!(x["responded_by_user"]["name"], "alice");
}

// Invariant: at the response timeout the defaults are the answer (nobody
// responded) and the task succeeds; without defaults it fails.
#[tokio::test]
async fn timeout_takes_the_defaults_or_fails() {
    let u = setup(&["timeouts"], &[]).await;
    trigger(&u, "timeouts", "r");
    let _procs = Running::start(&u, 2, 30);

    let with = wait_state(&u, "timeouts", "r", "with_default", &["success", "failed"]).await;
    assert_eq!(
        (with.state.as_deref(), with.try_number),
        (Some("success"), 1)
    );
    let x = xcom(&u, with.id).await;
    assert_eq!(x["chosen_options"], json!(["Approve"]));
    assert_eq!(x["responded_by_user"], Value::Null);
    assert!(detail(&u, with.id).await.timed_out);

    let without = wait_state(&u, "timeouts", "r", "no_default", &["success", "failed"]).await;
    assert_eq!(without.state.as_deref(), Some("failed"));
    let d = detail(&u, without.id).await;
    assert!(d.timed_out && d.responded_at.is_none(), "{d:?}");
    assert_eq!(
        answer(&u, without.id, &["Approve"], json!({})).await,
        Answered::AlreadyAnswered
    );
}
