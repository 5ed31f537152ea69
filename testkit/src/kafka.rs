//! A real Kafka-protocol broker for one test: tansu 0.6.0 (installed by
//! `scripts/kafka.sh install`) on a free loopback port with memory storage,
//! killed when dropped. Clients are the test's business: this module must
//! not depend on rdkafka, so that tests of crates without Kafka never wait
//! on librdkafka's C build.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How long a start may take before it counts as failed (tansu is ready in
/// well under a second; a loaded CI machine gets slack).
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A running tansu; killed (and its log removed) on drop.
#[derive(Debug)]
pub struct Broker {
    bin: PathBuf,
    port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

/// The tansu binary: `UPDRAFT_TANSU_BIN`, else the one `scripts/kafka.sh
/// install` puts in `~/.cache/updraft/tansu-0.6.0/bin`, else `tansu` on PATH.
pub fn tansu_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("UPDRAFT_TANSU_BIN").filter(|b| !b.is_empty()) {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            bail!("UPDRAFT_TANSU_BIN={} is not a file", bin.display());
        }
        return Ok(bin);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let cached = PathBuf::from(home).join(".cache/updraft/tansu-0.6.0/bin/tansu");
        if cached.is_file() {
            return Ok(cached);
        }
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("tansu"))
        .find(|p| p.is_file());
    on_path.context(
        "no tansu binary (UPDRAFT_TANSU_BIN, ~/.cache/updraft/tansu-0.6.0/bin/tansu, PATH): \
         run scripts/kafka.sh install, or the tests through scripts/test.sh",
    )
}

/// A loopback port nothing listens on now (the kernel's pick for port 0).
fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl Broker {
    /// Starts a broker on a free loopback port and waits until it accepts
    /// connections.
    pub fn start() -> anyhow::Result<Self> {
        let bin = tansu_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("updraft-tansu-")
            .tempdir()
            .context("creating the broker's directory")?;
        let mut broker = Self {
            bin,
            port: free_port()?,
            child: None,
            dir,
        };
        let mut attempt = 1;
        loop {
            match broker.spawn() {
                Ok(()) => return Ok(broker),
                // Most likely another process took the port: try another.
                Err(_) if attempt < 5 => {
                    attempt += 1;
                    broker.port = free_port()?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker's output so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Kills the broker (SIGKILL, as a crash): clients see the connection
    /// drop. Its memory storage is lost.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            child.wait().context("waiting for tansu to exit")?;
        }
        Ok(())
    }

    /// Kills and starts the broker again on the same port, empty (memory
    /// storage): topics must be created again.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill()?;
        self.spawn()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("tansu.log")
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .context("opening tansu.log")?;
        let mut child = Command::new(&self.bin)
            .arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "tansu exited ({status}) before answering on {addr}:\n{}",
                    self.log()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "tansu did not answer on {addr} within {READY_WITHIN:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Invariant: a started broker answers on its port, and a dropped one
    // does not (no broker outlives its test).
    #[test]
    fn starts_answers_and_stops() {
        let mut broker = Broker::start().expect("start tansu");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, broker.port()));
        assert!(TcpStream::connect(addr).is_ok(), "{}", broker.log());
        assert_eq!(broker.bootstrap(), format!("127.0.0.1:{}", broker.port()));
        broker.restart().expect("restart");
        assert!(TcpStream::connect(addr).is_ok(), "after restart");
        drop(broker);
        assert!(TcpStream::connect(addr).is_err(), "killed on drop");
    }
}
