//! The embedded default database of `updraft standalone`: a private
//! PostgreSQL cluster created with the system's `initdb` under the Updraft
//! home, on a free loopback port, used when no database URL is configured.
//!
//! Running as root: PostgreSQL refuses to run as root, so the cluster runs as
//! the `postgres` OS user and lives under /var/lib/updraft (root's home is not
//! traversable by other users).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

#[derive(Debug)]
pub struct EmbeddedDb {
    data_dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl EmbeddedDb {
    /// Creates the cluster if needed and starts it (or finds it running).
    pub fn start(home: &Path) -> anyhow::Result<Self> {
        let bindir = server_bindir()?;
        let as_postgres_user = is_root();
        let data_dir = if as_postgres_user {
            let digest = hex::encode(&Sha256::digest(home.to_string_lossy().as_bytes())[..6]);
            PathBuf::from("/var/lib/updraft").join(format!("postgres-{digest}"))
        } else {
            home.join("postgres")
        };
        let mut db = Self {
            data_dir,
            bindir,
            port: 0,
            as_postgres_user,
        };
        db.init()?;
        let port_file = db.data_dir.join("updraft.port");
        if db.is_running() {
            let text = std::fs::read_to_string(&port_file)
                .context("reading the embedded database's port")?;
            db.port = text
                .trim()
                .parse()
                .context("the embedded database's port file is corrupt")?;
            return Ok(db);
        }
        db.port = free_port()?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            db.port,
            db.data_dir.display()
        );
        let log = db.data_dir.join("server.log");
        db.pg(
            "pg_ctl",
            &[
                "-D",
                &db.dir_str(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .with_context(|| format!("starting PostgreSQL (log: {})", log.display()))?;
        std::fs::write(&port_file, db.port.to_string()).context("writing the port file")?;
        Ok(db)
    }

    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn stop(&self) {
        let _ = self.pg(
            "pg_ctl",
            &["-D", &self.dir_str(), "-m", "fast", "-w", "stop"],
        );
    }

    fn init(&self) -> anyhow::Result<()> {
        if self.data_dir.join("PG_VERSION").is_file() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        if self.as_postgres_user {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.data_dir))?;
        }
        self.pg(
            "initdb",
            &[
                "-D",
                &self.dir_str(),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
        )
        .context("creating the embedded database with initdb")
    }

    fn is_running(&self) -> bool {
        self.pg("pg_ctl", &["-D", &self.dir_str(), "status"])
            .is_ok()
    }

    fn dir_str(&self) -> String {
        self.data_dir.to_string_lossy().into_owned()
    }

    /// Runs a server binary, as the postgres user when we are root.
    fn pg(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let exe = self.bindir.join(program);
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new(runuser());
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir("/");
        run(&mut cmd)
    }
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// PostgreSQL's server binaries: `pg_config --bindir`, else the newest
/// /usr/lib/postgresql/<version>/bin.
fn server_bindir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        anyhow::anyhow!(
            "PostgreSQL's server binaries (initdb, pg_ctl) were not found: install Debian's \
             `postgresql` package (scripts/setup-debian.sh does), or point Updraft at a \
             database with UPDRAFT__DATABASE__URL"
        )
    })
}

fn runuser() -> &'static str {
    if Path::new("/usr/sbin/runuser").is_file() {
        "/usr/sbin/runuser"
    } else {
        "runuser"
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}
