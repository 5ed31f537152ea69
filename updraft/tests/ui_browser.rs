//! The web UI in a real headless Chromium. Each scenario is a node script in
//! `ui/e2e/` (playwright-core driving Debian's `/usr/bin/chromium`) that
//! prints one line of JSON and exits 0 when it passed; these tests start the
//! server, run the script, and assert on its exit code, its JSON and the
//! screenshots it saved.
//!
//! Two servers answer the same UI contract: `ui/e2e/fake_webserver.py`, a
//! stand-in that proves the harness and the scripts on any branch, and the
//! real `updraft webserver`.
//!
//! Screenshots go to the test's temporary folder; with
//! `UPDRAFT_SCREENSHOTS_DIR` set they are copied to
//! `$UPDRAFT_SCREENSHOTS_DIR/<test name>/` to be looked at.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Updraft, repo_root};

const DAG_ID: &str = "ui_pause";
const DAG: &str = "\
from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id='ui_pause', schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id='only')
";
const ADMIN: (&str, &str) = ("admin", "admin-pw-1");
const VIEWER: (&str, &str) = ("viewer", "viewer-pw-1");

// ---- the browser side -------------------------------------------------------

/// `scripts/ui-e2e.sh install` once per test process: playwright-core in the
/// cache outside the clone (a no-op when it is current).
fn node_modules() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new(repo_root().join("scripts/ui-e2e.sh"))
            .arg("install")
            .output()
            .expect("run scripts/ui-e2e.sh");
        assert!(
            out.status.success(),
            "scripts/ui-e2e.sh install failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// One run of a scenario script.
struct Scenario<'a> {
    /// e.g. `signin.mjs`, in `ui/e2e/`
    script: &'a str,
    base_url: &'a str,
    user: &'a str,
    password: &'a str,
    dag_id: &'a str,
}

/// What a script reported.
struct Outcome {
    passed: bool,
    json: Value,
    stderr: String,
}

impl Scenario<'_> {
    /// Runs the script; the screenshots are checked to be PNG files and kept
    /// under `$UPDRAFT_SCREENSHOTS_DIR/<test>/` when that is set.
    fn run(&self, test: &str) -> Outcome {
        let shots = tempfile::tempdir().expect("tempdir");
        let out = Command::new("node")
            .arg(repo_root().join("ui/e2e").join(self.script))
            .args(["--base-url", self.base_url])
            .args(["--user", self.user, "--password", self.password])
            .args(["--dag-id", self.dag_id])
            .arg("--screenshots")
            .arg(shots.path())
            .env("UPDRAFT_UI_E2E_NODE_MODULES", node_modules())
            .output()
            .expect("run node (Node.js is needed for the browser tests)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let line = stdout.lines().last().unwrap_or_default();
        let json: Value = serde_json::from_str(line).unwrap_or_else(|e| {
            panic!(
                "{}: no JSON line ({e}):\nstdout: {stdout}\nstderr: {stderr}",
                self.script
            )
        });
        eprintln!("{}: {json}", self.script);
        for shot in json["screenshots"].as_array().into_iter().flatten() {
            assert_png(Path::new(shot.as_str().expect("screenshot path")));
        }
        keep_screenshots(test, shots.path());
        Outcome {
            passed: out.status.success(),
            json,
            stderr,
        }
    }

    /// Runs the script and insists that it passed.
    fn pass(&self, test: &str) -> Value {
        let o = self.run(test);
        assert!(
            o.passed && o.json["ok"] == true,
            "{} failed: {}\n{}\nstderr: {}",
            self.script,
            o.json["error"],
            o.json,
            o.stderr
        );
        o.json
    }
}

/// A PNG file with a sane size (signature, then the IHDR chunk's width and
/// height).
fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("screenshot {path:?}: {e}"));
    assert!(
        bytes.len() > 33 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "{path:?} is not a PNG"
    );
    let width = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
    assert!(
        width >= 100 && height >= 100,
        "{path:?} is {width}x{height}"
    );
}

fn keep_screenshots(test: &str, from: &Path) {
    let Some(root) = std::env::var_os("UPDRAFT_SCREENSHOTS_DIR") else {
        return;
    };
    let to = Path::new(&root).join(test);
    std::fs::create_dir_all(&to).expect("mkdir UPDRAFT_SCREENSHOTS_DIR");
    for entry in std::fs::read_dir(from).expect("read screenshots") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy screenshot");
    }
}

// ---- the server side --------------------------------------------------------

/// A server that printed `Webserver listening on http://HOST:PORT`; stopped
/// (SIGTERM, then waited for) when dropped.
struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(url) = line.split("Webserver listening on ").nth(1) {
                        let base_url = url.trim().to_owned();
                        return Self { child, base_url };
                    }
                    seen.push(line);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{cmd:?} exited ({status}) before listening:\n{}",
                    seen.join("\n")
                );
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{cmd:?} did not print its address in 60 s:\n{}",
            seen.join("\n")
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Where the stand-in puts `data-testid="pause-toggle"`: the contract says
/// "a form button"; a server may mark the button or its form.
#[derive(Clone, Copy)]
enum ToggleId {
    OnButton,
    OnForm,
}

fn fake_webserver(toggle: ToggleId) -> Server {
    let on = match toggle {
        ToggleId::OnButton => "button",
        ToggleId::OnForm => "form",
    };
    let mut cmd = Command::new("python3");
    cmd.arg(repo_root().join("ui/e2e/fake_webserver.py"))
        .args(["--host", "127.0.0.1", "--port", "0", "--dag", DAG_ID])
        .args(["--toggle-testid-on", on])
        .arg("--user")
        .arg(format!("{}:{}:Admin", ADMIN.0, ADMIN.1))
        .arg("--user")
        .arg(format!("{}:{}:Viewer", VIEWER.0, VIEWER.1));
    Server::start(cmd)
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// `updraft webserver` on its own database with one DAG, an Admin and a
/// Viewer.
async fn real_webserver() -> (Updraft, Server) {
    let u = Updraft::new().await;
    u.write_dag("ui_pause.py", DAG);
    u.ok(&["dags", "reserialize"]);
    for (user, password, role) in [(ADMIN.0, ADMIN.1, "Admin"), (VIEWER.0, VIEWER.1, "Viewer")] {
        u.ok(&[
            "users",
            "create",
            "--username",
            user,
            "--password",
            password,
            "--role",
            role,
        ]);
    }
    let port = free_port().to_string();
    let server = Server::start(u.command(&["webserver", "--host", "127.0.0.1", "--port", &port]));
    (u, server)
}

fn is_paused(u: &Updraft) -> bool {
    let dags = u.json(&["dags", "list", "-o", "json"]);
    dags.as_array()
        .expect("array")
        .iter()
        .find(|d| d["dag_id"] == DAG_ID)
        .and_then(|d| d["is_paused"].as_bool())
        .unwrap_or_else(|| panic!("{DAG_ID} with is_paused in {dags}"))
}

// ---- the scenarios, shared by both servers ----------------------------------

fn signin(test: &str, base_url: &str) {
    let json = Scenario {
        script: "signin.mjs",
        base_url,
        user: ADMIN.0,
        password: ADMIN.1,
        dag_id: DAG_ID,
    }
    .pass(test);
    assert_eq!(json["checks"]["path"], "/home");
    assert!(
        json["checks"]["user_name"]
            .as_str()
            .is_some_and(|n| n.contains(ADMIN.0))
    );
}

fn signin_wrong(test: &str, base_url: &str) {
    let json = Scenario {
        script: "signin_wrong.mjs",
        base_url,
        user: ADMIN.0,
        password: "not-the-password",
        dag_id: DAG_ID,
    }
    .pass(test);
    assert_ne!(json["checks"]["path"], "/home");
}

fn viewer_cannot_pause(test: &str, base_url: &str) {
    let json = Scenario {
        script: "viewer_pause.mjs",
        base_url,
        user: VIEWER.0,
        password: VIEWER.1,
        dag_id: DAG_ID,
    }
    .pass(test);
    assert_eq!(json["checks"]["post_status"], 403);
}

fn admin_pauses(test: &str, base_url: &str) -> Value {
    Scenario {
        script: "admin_pause.mjs",
        base_url,
        user: ADMIN.0,
        password: ADMIN.1,
        dag_id: DAG_ID,
    }
    .pass(test)
}

// ---- against the stand-in: the harness itself -------------------------------

// Invariant: headless Chromium starts on this machine, clicks a button of a
// page served on loopback and saves a real PNG.
#[test]
fn chromium_clicks_a_button_and_saves_a_png() {
    let server = fake_webserver(ToggleId::OnButton);
    let json = Scenario {
        script: "fixture.mjs",
        base_url: &server.base_url,
        user: "",
        password: "",
        dag_id: "",
    }
    .pass("chromium_clicks_a_button_and_saves_a_png");
    assert_eq!(json["checks"]["status"], "clicked");
    assert_eq!(json["screenshots"].as_array().map(Vec::len), Some(1));
    assert!(json["timings_ms"]["launch"].as_u64().is_some());
}

// Invariant: a failing check fails the script (exit 1, ok false, a failure
// screenshot), so the tests below cannot pass by accident.
#[test]
fn a_failing_scenario_reports_failure() {
    let server = fake_webserver(ToggleId::OnButton);
    let o = Scenario {
        script: "signin.mjs",
        base_url: &server.base_url,
        user: ADMIN.0,
        password: "wrong",
        dag_id: DAG_ID,
    }
    .run("a_failing_scenario_reports_failure");
    assert!(!o.passed, "{}", o.json);
    assert_eq!(o.json["ok"], false);
    assert!(
        o.json["error"]
            .as_str()
            .is_some_and(|e| e.contains("not /home"))
    );
    assert!(
        o.json["screenshots"][0]
            .as_str()
            .is_some_and(|p| p.ends_with("signin-failure.png"))
    );
}

// Invariant: the four contract scenarios pass against a server that keeps the
// contract (the stand-in), so a failure against the real one is the server's.
#[test]
fn contract_scenarios_pass_against_the_stand_in() {
    let test = "contract_scenarios_pass_against_the_stand_in";
    let server = fake_webserver(ToggleId::OnButton);
    signin(test, &server.base_url);
    signin_wrong(test, &server.base_url);
    viewer_cannot_pause(test, &server.base_url);
    let json = admin_pauses(test, &server.base_url);
    assert_ne!(json["checks"]["before"], json["checks"]["after"]);
}

// Invariant: the pause scenarios find and click the toggle whether its test id
// is on the button or on the button's form.
#[test]
fn pause_scenarios_accept_the_test_id_on_the_form() {
    let test = "pause_scenarios_accept_the_test_id_on_the_form";
    let server = fake_webserver(ToggleId::OnForm);
    viewer_cannot_pause(test, &server.base_url);
    let json = admin_pauses(test, &server.base_url);
    assert_ne!(json["checks"]["before"], json["checks"]["after"]);
}

// ---- against `updraft webserver` --------------------------------------------

// Invariant: an Admin signs in with the form and sees their name in the header.
#[tokio::test]
async fn webserver_admin_signs_in() {
    let test = "webserver_admin_signs_in";
    let (_u, server) = real_webserver().await;
    signin(test, &server.base_url);
}

// Invariant: a wrong password is refused with Airflow's message.
#[tokio::test]
async fn webserver_wrong_password_is_refused() {
    let test = "webserver_wrong_password_is_refused";
    let (_u, server) = real_webserver().await;
    signin_wrong(test, &server.base_url);
}

// Invariant: a Viewer cannot pause a DAG, even by posting the form directly.
#[tokio::test]
async fn webserver_viewer_cannot_pause() {
    let test = "webserver_viewer_cannot_pause";
    let (u, server) = real_webserver().await;
    let before = is_paused(&u);
    viewer_cannot_pause(test, &server.base_url);
    assert_eq!(is_paused(&u), before, "a Viewer changed is_paused");
}

// Invariant: an Admin's click on the pause toggle flips it and the database.
#[tokio::test]
async fn webserver_admin_pauses_a_dag() {
    let test = "webserver_admin_pauses_a_dag";
    let (u, server) = real_webserver().await;
    let before = is_paused(&u);
    admin_pauses(test, &server.base_url);
    assert_eq!(is_paused(&u), !before, "the click did not change is_paused");
}
