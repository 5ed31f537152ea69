//! The harness of the browser tests (`ui_*.rs`): scenario scripts in
//! `ui/e2e/` (playwright-core driving Debian's chromium) run with node, and
//! the server they talk to. A script prints one JSON line and exits 0 when it
//! passed; its screenshots are checked to be PNG files and, with
//! `UPDRAFT_SCREENSHOTS_DIR` set, kept under `$UPDRAFT_SCREENSHOTS_DIR/<test>/`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::repo_root;

/// `scripts/ui-e2e.sh install` once per test process: playwright-core in the
/// cache outside the clone (a no-op when it is current).
pub fn node_modules() -> &'static Path {
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
pub struct Scenario<'a> {
    /// e.g. `signin.mjs`, in `ui/e2e/`
    pub script: &'a str,
    pub base_url: &'a str,
    pub user: &'a str,
    pub password: &'a str,
    pub dag_id: &'a str,
    pub env: &'a [(&'a str, &'a str)],
}

/// What a script reported.
pub struct Outcome {
    pub passed: bool,
    pub json: Value,
    pub stderr: String,
}

impl Scenario<'_> {
    /// Runs the script; the screenshots are checked to be PNG files and kept
    /// under `$UPDRAFT_SCREENSHOTS_DIR/<test>/` when that is set.
    pub fn run(&self, test: &str) -> Outcome {
        let shots = tempfile::tempdir().expect("tempdir");
        let out = Command::new("node")
            .arg(repo_root().join("ui/e2e").join(self.script))
            .args(["--base-url", self.base_url])
            .args(["--user", self.user, "--password", self.password])
            .args(["--dag-id", self.dag_id])
            .arg("--screenshots")
            .arg(shots.path())
            .envs(self.env.iter().copied())
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
    pub fn pass(&self, test: &str) -> Value {
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
pub fn assert_png(path: &Path) {
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

/// A server that printed `Webserver listening on http://HOST:PORT`; stopped
/// (SIGTERM, then waited for) when dropped.
pub struct Server {
    child: Child,
    pub base_url: String,
}

impl Server {
    /// The port of `base_url` (`http://HOST:PORT`).
    pub fn port(&self) -> u16 {
        self.base_url
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("no port in {}", self.base_url))
    }
}

impl Server {
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining after start-up: a closed pipe would make the
            // server's next println (standalone prints as it runs) panic.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
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

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}
