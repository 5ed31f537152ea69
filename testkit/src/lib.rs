//! Dev-only helpers for tests that use the real thing: a fresh PostgreSQL
//! database per test, cloned from a migrated template (fast: no migration per
//! test), on the server named by `UPDRAFT_TEST_DATABASE_URL` (which
//! `scripts/test.sh` starts on loopback), or on a [`PgCluster`] of the test's
//! own when the test restarts the server.

use std::str::FromStr;

mod cluster;
pub mod kafka;
pub use cluster::PgCluster;
pub use kafka::Broker;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
// Names interpolated into SQL below are generated here (hashes, UUIDs), never input.
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection, PgPool};

/// A database of one's own, dropped when the value is dropped.
#[derive(Debug)]
pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
    name: String,
    admin_url: String,
}

fn admin_url() -> anyhow::Result<String> {
    std::env::var("UPDRAFT_TEST_DATABASE_URL").context(
        "UPDRAFT_TEST_DATABASE_URL is not set: run the tests with scripts/test.sh (it starts a \
         private PostgreSQL on loopback), or point this variable at a server you own",
    )
}

/// The template's name changes whenever the set of migrations does.
fn template_name() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in updraft_core::db::MIGRATOR.iter() {
        for b in m.checksum.iter() {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("updraft_template_{h:016x}")
}

fn with_database(url: &str, db: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).context("UPDRAFT_TEST_DATABASE_URL is not a URL")?;
    parsed.set_path(&format!("/{db}"));
    Ok(parsed.to_string())
}

impl TestDb {
    /// On the shared test server (`UPDRAFT_TEST_DATABASE_URL`).
    pub async fn new() -> anyhow::Result<Self> {
        Self::on(&admin_url()?).await
    }

    /// On the server at `admin_url` (e.g. a [`PgCluster`]'s).
    pub async fn on(admin_url: &str) -> anyhow::Result<Self> {
        let admin_url = admin_url.to_owned();
        let template = template_name();
        let mut admin = PgConnectOptions::from_str(&admin_url)?
            .disable_statement_logging()
            .connect()
            .await
            .context("connecting to UPDRAFT_TEST_DATABASE_URL")?;
        ensure_template(&mut admin, &admin_url, &template).await?;
        let name = format!("updraft_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {template}"
        )))
        .execute(&mut admin)
        .await
        .with_context(|| format!("creating {name} from {template}"))?;
        admin.close().await?;
        let url = with_database(&admin_url, &name)?;
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .connect(&url)
            .await?;
        Ok(Self {
            pool,
            url,
            name,
            admin_url,
        })
    }
}

/// Creates and migrates the template once, whichever test process gets there
/// first (an advisory lock serialises them).
async fn ensure_template(
    admin: &mut PgConnection,
    admin_url: &str,
    template: &str,
) -> anyhow::Result<()> {
    sqlx::query("SELECT pg_advisory_lock(hashtext('updraft_test_template'))")
        .execute(&mut *admin)
        .await?;
    let result = async {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(template)
                .fetch_one(&mut *admin)
                .await?;
        if !exists {
            let building = format!("{template}_building");
            sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
            )))
            .execute(&mut *admin)
            .await?;
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {building}")))
                .execute(&mut *admin)
                .await?;
            let mut conn = PgConnection::connect(&with_database(admin_url, &building)?).await?;
            updraft_core::db::MIGRATOR.run(&mut conn).await?;
            conn.close().await?;
            sqlx::query(AssertSqlSafe(format!(
                "ALTER DATABASE {building} RENAME TO {template}"
            )))
            .execute(&mut *admin)
            .await?;
        }
        anyhow::Ok(())
    }
    .await;
    sqlx::query("SELECT pg_advisory_unlock(hashtext('updraft_test_template'))")
        .execute(&mut *admin)
        .await?;
    result
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Best effort, off the test's runtime: tests must not leave databases
        // behind on a server they share.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .ok()
            })
        })
        .join();
    }
}
