//! One refresh of the dags folder, and the loop that repeats it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::mpsc;
use updraft_core::observe::{self, heartbeat::JobHeartbeat};
use updraft_core::store::dag_files;
use updraft_core::store::jobs::JobType;

use crate::persist::{self, ParsedFile};
use crate::pool::{ParseLimits, ParsePool, ParseServerCommand};
use crate::scan::{self, DagFile, IgnoreSyntax, ScanProblem};

/// Results are stored in transactions of at most this many files.
const BATCH: usize = 250;

#[derive(Debug, Clone)]
pub struct ProcessorOptions {
    pub dags_folder: PathBuf,
    pub ignore_syntax: IgnoreSyntax,
    pub parse_timeout_secs: f64,
    pub max_output_bytes: u64,
    pub parsing_processes: usize,
    pub paused_at_creation: bool,
    pub refresh_interval: Duration,
    /// Idle parse servers are stopped after this long without files to parse.
    pub idle_server_ttl: Duration,
    pub server: ParseServerCommand,
}

#[derive(Debug)]
pub struct DagProcessor {
    db: PgPool,
    options: ProcessorOptions,
    pool: ParsePool,
}

/// What a refresh did.
#[derive(Debug, Default)]
pub struct RefreshReport {
    pub files_seen: usize,
    pub files_parsed: usize,
    pub files_unchanged: usize,
    pub files_gone: usize,
    pub dags: usize,
    pub new_versions: usize,
    pub import_errors: usize,
    pub deactivated: usize,
    pub scan_problems: Vec<ScanProblem>,
    pub elapsed: Duration,
}

/// Which files a refresh parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only new or changed files (the processor loop).
    Changed,
    /// Every file (`dags reserialize`).
    All,
}

impl DagProcessor {
    pub fn new(db: PgPool, mut options: ProcessorOptions) -> Self {
        // Filelocs are stored absolute and canonical, as Airflow shows them.
        if let Ok(canonical) = std::fs::canonicalize(&options.dags_folder) {
            options.dags_folder = canonical;
        }
        let pool = ParsePool::new(options.server.clone(), options.parsing_processes);
        Self { db, options, pool }
    }

    /// Scans the folder, parses what `mode` asks for and stores the results.
    #[tracing::instrument(skip_all, fields(folder = %self.options.dags_folder.display()))]
    pub async fn refresh(&self, mode: Mode) -> anyhow::Result<RefreshReport> {
        let started = Instant::now();
        let folder = self.options.dags_folder.clone();
        let syntax = self.options.ignore_syntax;
        let scanning = tokio::task::spawn_blocking(move || scan::scan(&folder, syntax));
        if mode == Mode::All {
            // Parse servers start while the folder is read.
            self.pool.warm_up().await;
        }
        let scanned = scanning.await?;
        let mut report = RefreshReport {
            files_seen: scanned.files.len(),
            scan_problems: scanned.problems,
            ..RefreshReport::default()
        };

        let known: HashMap<String, (String, bool)> = {
            let mut conn = self.db.acquire().await?;
            dag_files::list(&mut conn)
                .await?
                .into_iter()
                .map(|r| (r.fileloc, (r.content_hash, r.is_present)))
                .collect()
        };
        let present: std::collections::HashSet<String> = scanned
            .files
            .iter()
            .map(|f| f.path.to_string_lossy().into_owned())
            .collect();
        let gone: Vec<String> = known
            .iter()
            .filter(|(path, (_, is_present))| *is_present && !present.contains(*path))
            .map(|(path, _)| path.clone())
            .collect();
        report.files_gone = gone.len();
        report.deactivated += persist::forget_files(&self.db, &gone).await?;

        let (to_parse, unchanged): (Vec<DagFile>, Vec<DagFile>) =
            scanned.files.into_iter().partition(|f| {
                mode == Mode::All
                    || known.get(f.path.to_string_lossy().as_ref())
                        != Some(&(f.content_hash.clone(), true))
            });
        report.files_unchanged = unchanged.len();
        report.files_parsed = to_parse.len();
        self.parse_and_store(to_parse, &mut report).await?;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    async fn parse_and_store(
        &self,
        files: Vec<DagFile>,
        report: &mut RefreshReport,
    ) -> anyhow::Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
        let position: HashMap<PathBuf, usize> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i))
            .collect();
        let mut files: Vec<Option<DagFile>> = files.into_iter().map(Some).collect();
        let limits = ParseLimits {
            dags_folder: self.options.dags_folder.clone(),
            timeout_secs: self.options.parse_timeout_secs,
            max_output_bytes: self.options.max_output_bytes,
        };
        let (tx, mut rx) = mpsc::channel(BATCH * 2);
        let pool = self.pool.clone();
        let parsing = tokio::spawn(async move { pool.parse_all(paths, limits, tx).await });

        // Results are stored in path order, whatever order the servers answer
        // in: "the first file defining a DAG id keeps it" must not depend on
        // which server was faster.
        let mut ready: HashMap<usize, ParsedFile> = HashMap::new();
        let mut next = 0;
        let mut batch = Vec::with_capacity(BATCH);
        while let Some((path, result)) = rx.recv().await {
            let Some(&i) = position.get(&path) else {
                continue;
            };
            if let Some(file) = files[i].take() {
                ready.insert(i, parsed_file(file, result));
            }
            while let Some(file) = ready.remove(&next) {
                batch.push(file);
                next += 1;
                if batch.len() >= BATCH {
                    self.store(std::mem::take(&mut batch), report).await?;
                }
            }
        }
        let mut rest: Vec<(usize, ParsedFile)> = ready.into_iter().collect();
        rest.sort_by_key(|(i, _)| *i);
        batch.extend(rest.into_iter().map(|(_, f)| f));
        self.store(batch, report).await?;
        parsing.await?;
        Ok(())
    }

    async fn store(
        &self,
        batch: Vec<ParsedFile>,
        report: &mut RefreshReport,
    ) -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let (files, started) = (batch.len(), Instant::now());
        let outcome =
            persist::persist_batch(&self.db, batch, self.options.paused_at_creation).await?;
        tracing::debug!(
            files,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "stored a batch"
        );
        report.dags += outcome.dags;
        report.new_versions += outcome.new_versions;
        report.import_errors += outcome.import_errors;
        report.deactivated += outcome.deactivated;
        Ok(())
    }

    /// Stops the parse servers kept between refreshes.
    pub async fn shutdown(&self) {
        self.pool.shutdown().await;
    }

    /// Refreshes every `refresh_interval` until `shutdown` resolves. A failed
    /// refresh (say, the database restarting) is logged and retried.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last_parse = Instant::now();
        let mut heartbeat = JobHeartbeat::new(JobType::DagProcessor);
        loop {
            heartbeat.beat(&self.db).await;
            let refreshed = self.refresh(Mode::Changed).await;
            if let Ok(r) = &refreshed {
                observe::metrics::dag_processing_total_parse_time(r.elapsed.as_secs_f64());
            }
            if matches!(&refreshed, Ok(r) if r.files_parsed > 0) {
                last_parse = Instant::now();
            } else if last_parse.elapsed() >= self.options.idle_server_ttl
                && self.pool.idle_count().await > 0
            {
                // Nothing to parse for a while: give their memory back.
                self.pool.shutdown().await;
                tracing::debug!("stopped idle parse servers");
            }
            match refreshed {
                Ok(r) if r.files_parsed > 0 || r.files_gone > 0 => tracing::info!(
                    parsed = r.files_parsed,
                    gone = r.files_gone,
                    dags = r.dags,
                    new_versions = r.new_versions,
                    import_errors = r.import_errors,
                    elapsed_ms = r.elapsed.as_millis() as u64,
                    "dags folder refreshed"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "refreshing the dags folder failed")
                }
            }
            tokio::select! {
                _ = &mut shutdown => {
                    self.pool.shutdown().await;
                    heartbeat.end(&self.db).await;
                    return;
                }
                _ = tokio::time::sleep(self.options.refresh_interval) => {}
            }
        }
    }
}

fn parsed_file(file: DagFile, result: updraft_core::model::ParseResult) -> ParsedFile {
    ParsedFile {
        fileloc: file.path.to_string_lossy().into_owned(),
        relative: file.relative,
        content_hash: file.content_hash,
        mtime: file.mtime,
        size_bytes: i64::try_from(file.content.len()).unwrap_or(i64::MAX),
        source: String::from_utf8_lossy(&file.content).into_owned(),
        result,
    }
}
