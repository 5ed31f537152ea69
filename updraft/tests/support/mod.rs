//! Running the real `updraft` binary against a database of the test's own.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use updraft_testkit::TestDb;

pub mod api_clients;
pub mod browser;
pub mod http;
pub mod ti;

/// The repository root (for `dags/` and fixtures).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One Updraft installation: a home folder, a dags folder and a database.
pub struct Updraft {
    pub db: TestDb,
    pub home: tempfile::TempDir,
    pub dags_folder: PathBuf,
    extra_env: Vec<(String, String)>,
}

impl Updraft {
    /// With its own empty dags folder (inside the home).
    pub async fn new() -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        let dags = home.path().join("dags");
        std::fs::create_dir_all(&dags).expect("mkdir dags");
        Self::with_dags(home, dags).await
    }

    /// Reading an existing dags folder.
    pub async fn with_folder(dags: PathBuf) -> Self {
        Self::with_dags(tempfile::tempdir().expect("tempdir"), dags).await
    }

    /// With its own empty dags folder, its database on the server at
    /// `admin_url` (a test-private `PgCluster`).
    pub async fn on_server(admin_url: &str) -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        let dags = home.path().join("dags");
        std::fs::create_dir_all(&dags).expect("mkdir dags");
        let db = TestDb::on(admin_url).await.expect("test database");
        Self::with_db(db, home, dags)
    }

    async fn with_dags(home: tempfile::TempDir, dags_folder: PathBuf) -> Self {
        let db = TestDb::new().await.expect("test database");
        Self::with_db(db, home, dags_folder)
    }

    fn with_db(db: TestDb, home: tempfile::TempDir, dags_folder: PathBuf) -> Self {
        let me = Self {
            db,
            home,
            dags_folder,
            extra_env: Vec::new(),
        };
        me.ok(&["db", "migrate"]);
        me
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.extra_env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The binary with a clean environment: nothing from the developer's
    /// shell (AIRFLOW__*, UPDRAFT__*) leaks in.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_updraft"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("UPDRAFT_HOME", self.home.path())
            .env("UPDRAFT__DATABASE__URL", &self.db.url)
            .env("UPDRAFT__CORE__DAGS_FOLDER", &self.dags_folder)
            .args(args);
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run updraft")
    }

    /// Runs and insists on success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "updraft {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
    }

    pub fn import_errors(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["dags", "list-import-errors", "-o", "json"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(&text).expect("import errors JSON");
        v.as_array().cloned().unwrap_or_default()
    }

    pub fn dag_ids(&self) -> Vec<String> {
        self.json(&["dags", "list", "-o", "json"])
            .as_array()
            .expect("array")
            .iter()
            .map(|d| d["dag_id"].as_str().expect("dag_id").to_owned())
            .collect()
    }

    pub fn write_dag(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dags_folder.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write dag");
        path
    }
}

/// A scheduler and a worker process of `u`, stopped (SIGTERM, then waited
/// for) when dropped.
pub struct Running(Vec<std::process::Child>);

impl Running {
    /// With a worker of `concurrency` slots and a `lease` in seconds.
    pub fn start(u: &Updraft, concurrency: usize, lease: u32) -> Self {
        let scheduler = u
            .command(&["scheduler", "--interval", "0.1"])
            .spawn()
            .expect("scheduler");
        let (concurrency, lease) = (concurrency.to_string(), lease.to_string());
        let worker = u
            .command(&["worker", "--concurrency", &concurrency, "--lease", &lease])
            .spawn()
            .expect("worker");
        Self(vec![scheduler, worker])
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

/// The state of DAG run `run_id` once it has ended (`success`/`failed`), or
/// the last state seen after 60 s.
pub async fn run_end(pool: &sqlx::PgPool, run_id: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut state = String::new();
    while std::time::Instant::now() < deadline {
        state = sqlx::query_scalar("SELECT state FROM dag_run WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(pool)
            .await
            .expect("run state");
        if state == "success" || state == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    state
}
