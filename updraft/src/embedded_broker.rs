//! The embedded Kafka-protocol broker of `updraft standalone`: when no
//! `kafka_default` connection exists (environment or database), or the
//! database's is the one an earlier standalone wrote (its description is
//! [`MARK`]), and a tansu binary is installed (`scripts/kafka.sh install`),
//! tansu runs on a free loopback port with memory storage and
//! `kafka_default` points at it. A user's own `kafka_default` is never
//! touched. The broker keeps nothing on disk: topics and messages are gone
//! when it stops.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::PgPool;
use tokio::process::{Child, Command};
use updraft_core::model::connection_uri;
use updraft_core::store::connections::{self as store, ConnectionRow};

/// The connection the embedded broker serves.
pub const CONN_ID: &str = "kafka_default";

/// The description that marks `kafka_default` as the embedded broker's,
/// so a later start may refresh it (its port changes every start).
pub const MARK: &str = "embedded broker of updraft standalone";

/// How long tansu may take to answer (it is ready in well under a second).
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A running tansu, killed when dropped (a start-up error on the way out
/// must not leave it behind).
#[derive(Debug)]
pub struct EmbeddedBroker {
    child: Child,
    port: u16,
}

/// What standalone does about Kafka, decided from the connections.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// The user's own connection (where it comes from, for the start-up line).
    UseUsers(&'static str),
    /// No connection, or the embedded one of an earlier start.
    Embed,
}

/// Starts the broker when `kafka_default` is missing or the embedded one,
/// and says on stdout what Kafka tasks will use. `None`: no broker started.
pub async fn start_if_needed(pool: &PgPool, home: &Path) -> anyhow::Result<Option<EmbeddedBroker>> {
    let env = connection_uri::env_connection(CONN_ID);
    let mut conn = pool.acquire().await?;
    let db = store::get(&mut conn, CONN_ID).await?;
    match plan(
        env.as_ref().map(Option::is_some).unwrap_or(true),
        db.as_ref(),
    ) {
        Plan::UseUsers(source) => {
            println!("Kafka: tasks use the kafka_default connection {source}.");
            return Ok(None);
        }
        Plan::Embed => {}
    }
    let Some(bin) = tansu_bin() else {
        println!(
            "Kafka: Kafka tasks need a kafka_default connection (`updraft connections add \
             kafka_default --conn-uri 'kafka://?bootstrap.servers=HOST:PORT'`); for an embedded \
             broker, install tansu with scripts/kafka.sh install."
        );
        return Ok(None);
    };
    let broker = EmbeddedBroker::start(&bin, &home.join("tansu.log")).await?;
    store::put(&mut conn, &connection_row(&broker.bootstrap()), true)
        .await
        .context("writing the kafka_default connection")?;
    println!(
        "Embedded Kafka broker: {} (tansu, connection kafka_default). Its topics and messages \
         are in memory only, gone when Updraft stops; create topics with `updraft kafka topics \
         create NAME`.",
        broker.bootstrap()
    );
    Ok(Some(broker))
}

/// `env_defined`: `AIRFLOW_CONN_KAFKA_DEFAULT` is set (even unparsable: it
/// is still the user's). A database row counts as the user's unless marked.
fn plan(env_defined: bool, db: Option<&ConnectionRow>) -> Plan {
    if env_defined {
        return Plan::UseUsers("from AIRFLOW_CONN_KAFKA_DEFAULT");
    }
    match db {
        Some(row) if row.description.as_deref() != Some(MARK) => {
            Plan::UseUsers("from the database")
        }
        _ => Plan::Embed,
    }
}

/// The embedded broker's connection (earliest offset: a task that consumes
/// what an earlier task of the run produced sees it).
fn connection_row(bootstrap: &str) -> ConnectionRow {
    let extra = serde_json::json!({
        "bootstrap.servers": bootstrap,
        "group.id": "updraft",
        "auto.offset.reset": "earliest",
    });
    ConnectionRow {
        conn_id: CONN_ID.to_owned(),
        conn_type: "kafka".to_owned(),
        description: Some(MARK.to_owned()),
        host: None,
        schema: None,
        login: None,
        password: None,
        port: None,
        extra: Some(extra.to_string().into_bytes()),
    }
}

/// The tansu binary: `UPDRAFT_TANSU_BIN`, else where `scripts/kafka.sh
/// install` puts it, else `tansu` on PATH.
fn tansu_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("UPDRAFT_TANSU_BIN").filter(|b| !b.is_empty()) {
        return Some(PathBuf::from(bin)).filter(|b| b.is_file());
    }
    let cached = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/updraft/tansu-0.6.0/bin/tansu"))
        .filter(|b| b.is_file());
    cached.or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join("tansu"))
            .find(|b| b.is_file())
    })
}

impl EmbeddedBroker {
    async fn start(bin: &Path, log_path: &Path) -> anyhow::Result<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .context("finding a free port for the embedded broker")?
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::File::create(log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut child = Command::new(bin)
            .arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            // Its own process group: a Ctrl-C in the terminal reaches only
            // Updraft, which stops the broker after the worker's tries end.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(Self { child, port });
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the embedded Kafka broker exited ({status}) before answering on {addr} \
                     (see {})",
                    log_path.display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "the embedded Kafka broker did not answer on {addr} within {READY_WITHIN:?} \
                     (see {})",
                    log_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the broker (its memory storage has nothing to flush).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child
            .kill()
            .await
            .context("stopping the embedded Kafka broker")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Invariant: a user's kafka_default (environment or database) is never
    // replaced by the embedded broker; the embedded one of an earlier start is.
    #[test]
    fn only_a_missing_or_embedded_connection_is_replaced() {
        let embedded = connection_row("127.0.0.1:1");
        let mut users = connection_row("broker:9092");
        users.description = None;
        assert_eq!(plan(false, None), Plan::Embed);
        assert_eq!(plan(false, Some(&embedded)), Plan::Embed);
        assert!(matches!(plan(false, Some(&users)), Plan::UseUsers(_)));
        assert!(matches!(plan(true, None), Plan::UseUsers(_)));
        assert!(matches!(plan(true, Some(&embedded)), Plan::UseUsers(_)));
    }
}
