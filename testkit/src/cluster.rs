//! A PostgreSQL cluster of one test's own, for tests that stop and restart
//! the database under running components. Started with `scripts/pg.sh`
//! (initdb, a free loopback port), then stopped and started again with the
//! system's `pg_ctl` on the same port, so clients reconnect to the same URL.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// A private cluster in a temporary directory, stopped and removed on drop.
#[derive(Debug)]
pub struct PgCluster {
    dir: tempfile::TempDir,
    port: u16,
}

impl PgCluster {
    /// initdb and start. Commits are synchronous (unlike `pg.sh --fast`):
    /// [`Self::stop`] is a crash of the server, and a crash must not lose
    /// what was committed. fsync stays off after the first start: the
    /// machine itself does not crash.
    pub fn start() -> anyhow::Result<Self> {
        // Under /tmp: the socket path must stay short, and as root the
        // `postgres` user must reach the directory.
        let dir = tempfile::Builder::new()
            .prefix("updraft-pg-")
            .tempdir_in("/tmp")
            .context("creating the cluster's directory")?;
        let out = Command::new(pg_sh())
            .arg("start")
            .arg(dir.path())
            .output()
            .context("running scripts/pg.sh")?;
        if !out.status.success() {
            bail!(
                "scripts/pg.sh start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let port = url
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("no port in pg.sh's URL {url:?}"))?;
        Ok(Self { dir, port })
    }

    /// The admin URL (database `postgres`).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server the way a crash or an operator would: `immediate`
    /// drops every connection at once, without a checkpoint.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.pg_ctl(&["-m", "immediate", "-w", "-t", "60", "stop"])
    }

    /// Starts the stopped server again on the same port.
    pub fn start_again(&self) -> anyhow::Result<()> {
        let dir = self.dir_str();
        let opts = format!(
            "-p {} -k {dir} -c listen_addresses=127.0.0.1 -c max_connections=400 \
             -c fsync=off",
            self.port
        );
        let log = format!("{dir}/log");
        self.pg_ctl(&["-o", &opts, "-l", &log, "-w", "-t", "60", "start"])
    }

    fn dir_str(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    /// pg_ctl as the cluster's owner (`postgres` when we are root).
    fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let pg_ctl = bindir()?.join("pg_ctl");
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let out = cmd
            .arg("-D")
            .arg(self.dir.path())
            .args(args)
            .current_dir("/")
            .output()
            .with_context(|| format!("running {}", pg_ctl.display()))?;
        if !out.status.success() {
            bail!(
                "pg_ctl {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = Command::new(pg_sh())
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

fn pg_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh")
}

/// PostgreSQL's server binaries, found as scripts/pg.sh finds them.
fn bindir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("pg_ctl").is_file() {
            return Ok(dir);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .context("no pg_ctl found: run scripts/setup-debian.sh")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
