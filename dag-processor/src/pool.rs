//! A pool of parse servers: child processes (`updraft __parse-server`) that
//! each answer one JSON line per requested file. A server that dies or stops
//! answering is replaced; the file it was parsing gets an import error, and
//! no other file is affected.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, mpsc};
use updraft_core::model::{ParseErrorKind, ParseResult};

/// How to start one parse server.
#[derive(Debug, Clone)]
pub struct ParseServerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// Limits sent with every request.
#[derive(Debug, Clone)]
pub struct ParseLimits {
    pub dags_folder: PathBuf,
    pub timeout_secs: f64,
    pub max_output_bytes: u64,
}

#[derive(Serialize)]
struct Request<'a> {
    path: &'a Path,
    dags_folder: &'a Path,
    timeout: f64,
    max_output: u64,
}

/// Extra time the host waits beyond the per-file timeout before it decides
/// the server itself (not the file) is stuck.
const SERVER_GRACE: Duration = Duration::from_secs(15);

/// Requests written ahead per server, so it can batch them (twice the parse
/// server's BATCH); small enough never to fill the stdin pipe (~200 bytes each).
const IN_FLIGHT: usize = 128;

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// Requests sent and not yet answered, in order (the server answers in order).
    in_flight: VecDeque<PathBuf>,
    /// Not yet sent anything: a failure now is not a stale idle server's.
    fresh: bool,
}

impl Server {
    fn spawn(command: &ParseServerCommand) -> std::io::Result<Self> {
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        Ok(Self {
            child,
            stdin,
            stdout: BufReader::with_capacity(1 << 20, stdout).lines(),
            in_flight: VecDeque::new(),
            fresh: true,
        })
    }

    async fn send(&mut self, path: &Path, limits: &ParseLimits) -> Result<(), String> {
        let mut line = serde_json::to_string(&Request {
            path,
            dags_folder: &limits.dags_folder,
            timeout: limits.timeout_secs,
            max_output: limits.max_output_bytes,
        })
        .map_err(|e| e.to_string())?;
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("writing to the parse server: {e}"))?;
        self.fresh = false;
        self.in_flight.push_back(path.to_owned());
        Ok(())
    }

    /// The answer to the oldest request; `Err` means the server is unusable.
    /// Answers come at most one file's timeout apart, so the wait is bounded
    /// by that plus a grace period.
    async fn answer(&mut self, limits: &ParseLimits) -> Result<ParseResult, String> {
        let deadline = Duration::from_secs_f64(limits.timeout_secs) + SERVER_GRACE;
        match tokio::time::timeout(deadline, self.stdout.next_line()).await {
            Err(_) => Err(format!(
                "the parse server gave no answer within {}s",
                deadline.as_secs()
            )),
            Ok(Err(e)) => Err(format!("reading from the parse server: {e}")),
            Ok(Ok(None)) => Err(match self.child.try_wait() {
                Ok(Some(status)) => format!("the parse server exited ({status})"),
                _ => "the parse server closed its output".to_owned(),
            }),
            Ok(Ok(Some(answer))) => serde_json::from_str(&answer)
                .map_err(|e| format!("unreadable answer from the parse server: {e}")),
        }
    }
}

/// N parse servers fed from one queue. Servers outlive a `parse_all` call:
/// idle ones wait in the pool for the next refresh (start-up of an embedded
/// interpreter with the airflow package costs ~150 ms).
#[derive(Clone)]
pub struct ParsePool {
    command: ParseServerCommand,
    size: usize,
    idle: Arc<Mutex<Vec<Server>>>,
}

impl std::fmt::Debug for ParsePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsePool")
            .field("command", &self.command)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

type Queue = Arc<Mutex<VecDeque<PathBuf>>>;

impl ParsePool {
    pub fn new(command: ParseServerCommand, size: usize) -> Self {
        Self {
            command,
            size: size.max(1),
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// How many servers wait idle in the pool.
    pub async fn idle_count(&self) -> usize {
        self.idle.lock().await.len()
    }

    /// Stops the idle servers: closes their input and waits for them (their
    /// children exit with them), rather than killing them on drop.
    pub async fn shutdown(&self) {
        let servers: Vec<Server> = std::mem::take(&mut *self.idle.lock().await);
        for mut s in servers {
            drop(s.stdin);
            if tokio::time::timeout(Duration::from_secs(5), s.child.wait())
                .await
                .is_err()
            {
                let _ = s.child.kill().await;
            }
        }
    }

    /// Starts servers up to the pool's size, so that their start-up overlaps
    /// other work (scanning the folder). Failures surface on first use.
    pub async fn warm_up(&self) {
        let mut idle = self.idle.lock().await;
        while idle.len() < self.size {
            match Server::spawn(&self.command) {
                Ok(s) => idle.push(s),
                Err(_) => break,
            }
        }
    }

    /// Parses `files`, sending each (file, result) to `results` as soon as it
    /// is known. Returns once every file has an answer.
    pub async fn parse_all(
        &self,
        files: Vec<PathBuf>,
        limits: ParseLimits,
        results: mpsc::Sender<(PathBuf, ParseResult)>,
    ) {
        let workers = self.size.min(files.len());
        let queue: Queue = Arc::new(Mutex::new(files.into_iter().collect()));
        let limits = Arc::new(limits);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (queue, limits, results) =
                (Arc::clone(&queue), Arc::clone(&limits), results.clone());
            let command = self.command.clone();
            let idle = Arc::clone(&self.idle);
            handles.push(tokio::spawn(async move {
                let mut server: Option<Server> = idle.lock().await.pop();
                let mut relayed_big = false;
                while let Some((path, result)) =
                    next_result(&command, &mut server, &queue, &limits).await
                {
                    relayed_big |= result_bytes(&result) > BIG_RESULT_BYTES;
                    if results.send((path, result)).await.is_err() {
                        break;
                    }
                }
                // Keep a server with nothing in flight for the next refresh,
                // unless it grew passing on a huge DAG: a fresh one is small.
                if let Some(s) = server.filter(|s| s.in_flight.is_empty() && !relayed_big) {
                    idle.lock().await.push(s);
                }
            }));
        }
        for h in handles {
            let _ = h.await;
        }
    }
}

/// A server that passed on a result this big (a DAG of thousands of tasks)
/// is not kept: Python keeps the memory it grew to (50+ MB) for its life.
const BIG_RESULT_BYTES: usize = 4 << 20;

fn result_bytes(result: &ParseResult) -> usize {
    result.dags.iter().map(|d| d.get().len()).sum()
}

/// Keeps the server's pipeline full from the queue and returns the next
/// answer; `None` when the queue is drained and nothing is in flight.
async fn next_result(
    command: &ParseServerCommand,
    server: &mut Option<Server>,
    queue: &Queue,
    limits: &ParseLimits,
) -> Option<(PathBuf, ParseResult)> {
    loop {
        let in_flight = server.as_ref().map_or(0, |s| s.in_flight.len());
        if in_flight < IN_FLIGHT {
            let next = queue.lock().await.pop_front();
            if let Some(path) = next {
                if let Err(failed) = send(command, server, queue, &path, limits).await {
                    return Some(failed);
                }
                continue;
            }
        }
        let s = server.as_mut()?;
        let head = s.in_flight.front()?.clone();
        return Some(match s.answer(limits).await {
            Ok(result) => {
                s.in_flight.pop_front();
                (head, result)
            }
            Err(message) => {
                let failed = fail_server(server, queue, message).await;
                (head, failed)
            }
        });
    }
}

/// Sends one request, starting a server if there is none. On failure the
/// returned (file, result) is the answer to report now.
async fn send(
    command: &ParseServerCommand,
    server: &mut Option<Server>,
    queue: &Queue,
    path: &Path,
    limits: &ParseLimits,
) -> Result<(), (PathBuf, ParseResult)> {
    let shown = path.to_string_lossy();
    if server.is_none() {
        match Server::spawn(command) {
            Ok(s) => *server = Some(s),
            Err(e) => {
                let message = format!(
                    "could not start a parse server ({}): {e}",
                    command.program.display()
                );
                return Err((
                    path.to_owned(),
                    ParseResult::failed(&shown, ParseErrorKind::Processor, message),
                ));
            }
        }
    }
    let Some(s) = server.as_mut() else {
        return Err((
            path.to_owned(),
            ParseResult::failed(&shown, ParseErrorKind::Processor, "no parse server"),
        ));
    };
    match s.send(path, limits).await {
        Ok(()) => Ok(()),
        // An idle server that died meanwhile: replace it, once, without
        // blaming this file.
        Err(_) if s.in_flight.is_empty() && !s.fresh => {
            *server = None;
            Box::pin(send(command, server, queue, path, limits)).await
        }
        Err(message) => match s.in_flight.front().cloned() {
            // The server died while busy: blame the file it was parsing; this
            // one goes back to the queue with the rest.
            Some(head) => {
                s.in_flight.push_back(path.to_owned());
                Err((head, fail_server(server, queue, message).await))
            }
            None => {
                *server = None;
                Err((
                    path.to_owned(),
                    ParseResult::failed(&shown, ParseErrorKind::Processor, message),
                ))
            }
        },
    }
}

/// Drops a broken server: its oldest request gets `message` as its error (it
/// was being parsed when the server broke), the others go back to the front
/// of the queue for a fresh server.
async fn fail_server(server: &mut Option<Server>, queue: &Queue, message: String) -> ParseResult {
    let Some(mut s) = server.take() else {
        return ParseResult::failed("", ParseErrorKind::Processor, message);
    };
    let head = s.in_flight.pop_front().unwrap_or_default();
    tracing::warn!(file = %head.display(), %message, "replacing parse server");
    let mut q = queue.lock().await;
    for path in s.in_flight.drain(..).rev() {
        q.push_front(path);
    }
    ParseResult::failed(&head.to_string_lossy(), ParseErrorKind::Processor, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ParseServerCommand {
        ParseServerCommand {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
        }
    }

    fn limits() -> ParseLimits {
        ParseLimits {
            dags_folder: "/nowhere".into(),
            timeout_secs: 0.2,
            max_output_bytes: 1024,
        }
    }

    async fn run(pool: &ParsePool, files: &[&str]) -> Vec<(PathBuf, ParseResult)> {
        let (tx, mut rx) = mpsc::channel(16);
        pool.parse_all(files.iter().map(PathBuf::from).collect(), limits(), tx)
            .await;
        let mut out = Vec::new();
        while let Ok(r) = rx.try_recv() {
            out.push(r);
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    // Invariant: a server that dies mid-request costs that file only; the
    // next file is served by a fresh server.
    #[tokio::test]
    async fn a_dead_server_fails_one_file_and_is_replaced() {
        // Answers the first request of each life with a valid result, then dies
        // on the second.
        let script =
            r#"read l; echo '{"path":"x","ok":true,"dags":[],"error":null}'; read l; exit 7"#;
        let pool = ParsePool::new(sh(script), 1);
        let results = run(&pool, &["a.py", "b.py", "c.py"]).await;
        assert_eq!(results.len(), 3);
        assert!(results[0].1.ok, "first file served");
        let err = results[1].1.error.as_ref().expect("second file fails");
        assert_eq!(err.kind, ParseErrorKind::Processor);
        assert!(
            err.message.contains("exited") || err.message.contains("closed"),
            "{}",
            err.message
        );
        assert!(results[2].1.ok, "a fresh server serves the third file");
    }

    // Invariant: servers are kept between calls, and one that died while idle
    // is replaced without failing the next file.
    #[tokio::test]
    async fn an_idle_server_that_died_is_replaced_silently() {
        // Each server life answers one request, then exits.
        let script = r#"read l; echo '{"path":"x","ok":true,"dags":[],"error":null}'; exit 0"#;
        let pool = ParsePool::new(sh(script), 1);
        assert!(run(&pool, &["a.py"]).await[0].1.ok);
        assert_eq!(
            pool.idle.lock().await.len(),
            1,
            "the server is kept for the next call"
        );
        tokio::time::sleep(Duration::from_millis(200)).await; // it exits meanwhile
        let second = run(&pool, &["b.py"]).await;
        assert!(second[0].1.ok, "{:?}", second[0].1.error);
    }

    // Invariant: a server that passed on a huge result is not kept (Python
    // would keep the memory it grew to); one with small results is.
    #[tokio::test]
    async fn a_server_that_relayed_a_huge_dag_is_not_kept() {
        let script = r#"
import json, sys
for line in sys.stdin:
    size = 5 << 20 if "big" in line else 10
    print(json.dumps({"path": "x", "ok": True, "dags": [{"x": "a" * size}], "error": None}), flush=True)
"#;
        let python = ParseServerCommand {
            program: "/usr/bin/python3".into(),
            args: vec!["-c".into(), script.into()],
        };
        let pool = ParsePool::new(python, 1);
        assert!(run(&pool, &["small.py"]).await[0].1.ok);
        assert_eq!(pool.idle.lock().await.len(), 1, "kept after small results");
        assert!(run(&pool, &["big.py"]).await[0].1.ok);
        assert_eq!(pool.idle.lock().await.len(), 0, "not kept after a huge one");
    }

    // Invariant: a server that stops answering is given up on after the
    // file's timeout plus a grace period, not waited on forever.
    #[tokio::test(start_paused = true)]
    async fn a_silent_server_times_out() {
        let pool = ParsePool::new(sh("exec sleep 1000"), 1);
        let results = run(&pool, &["a.py"]).await;
        let err = results[0].1.error.as_ref().expect("fails");
        assert_eq!(err.kind, ParseErrorKind::Processor);
        assert!(err.message.contains("no answer"), "{}", err.message);
    }

    // Invariant: a program that cannot start is reported per file, clearly.
    #[tokio::test]
    async fn a_missing_server_binary_is_reported() {
        let pool = ParsePool::new(
            ParseServerCommand {
                program: "/nonexistent/updraft".into(),
                args: vec![],
            },
            2,
        );
        let results = run(&pool, &["a.py", "b.py"]).await;
        for (_, r) in results {
            let err = r.error.expect("error");
            assert!(
                err.message.contains("/nonexistent/updraft"),
                "{}",
                err.message
            );
        }
    }
}
