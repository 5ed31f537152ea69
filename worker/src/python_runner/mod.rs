//! The worker's side of the Python task runner: one long-lived
//! `updraft __task-runner` child (embedded CPython, the compatibility package
//! imported once) started lazily and shared by every Python try of this
//! worker; it forks one child per task. We talk to it over pipes (JSON lines,
//! [`protocol`]), so this crate never links libpython. A runner that dies
//! fails the tries it was running and is replaced on the next request.
//! See docs/adr/0004-python-task-runner.md.

pub mod protocol;
pub mod session;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Notify, mpsc};

use crate::log_sink::LogSink;
use crate::templates::SecretSet;

pub use protocol::{
    CallSpec, ContextData, Mode, PokeResult, ResultState, TaskRequest, TaskResult, XComRow,
};

/// How a runner process is started.
#[derive(Debug, Clone)]
pub struct RunnerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

static COMMAND: OnceLock<RunnerCommand> = OnceLock::new();
static CURRENT: tokio::sync::Mutex<Option<Arc<Runner>>> = tokio::sync::Mutex::const_new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How long a cancelled task may take to report before we stop waiting.
const CANCEL_GRACE: Duration = Duration::from_secs(30);
/// Without an `execution_timeout` a task may run as long as it likes.
const NO_BACKSTOP: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Sets how runners are started; by default this very binary's
/// `__task-runner` (a test harness, which is not `updraft`, sets it).
/// The first call wins; returns whether this one did.
pub fn set_command(command: RunnerCommand) -> bool {
    COMMAND.set(command).is_ok()
}

fn command() -> Result<RunnerCommand, String> {
    if let Some(c) = COMMAND.get() {
        return Ok(c.clone());
    }
    let program = std::env::current_exe()
        .map_err(|e| format!("locating the updraft binary for the Python task runner: {e}"))?;
    Ok(RunnerCommand {
        program,
        args: vec!["__task-runner".into()],
    })
}

/// What a running task sends before its result.
#[derive(Debug, Clone, PartialEq)]
enum Output {
    /// One line of its stdout/stderr.
    Line(String),
    /// A secret it read (a sensitive Variable, a connection password): hide
    /// it in every later line.
    Secret(String),
}

enum Event {
    Out(Output),
    Done(TaskResult),
}

type Waiting = HashMap<u64, mpsc::UnboundedSender<Event>>;

struct Runner {
    stdin: tokio::sync::Mutex<ChildStdin>,
    waiting: Mutex<Waiting>,
    alive: AtomicBool,
    /// Killed when the runner is dropped; it also exits when stdin closes.
    _child: Child,
}

impl Runner {
    fn spawn() -> Result<Arc<Self>, String> {
        let cmd = command()?;
        let mut child = Command::new(&cmd.program)
            .args(&cmd.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "starting the Python task runner ({}): {e}",
                    cmd.program.display()
                )
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the Python task runner has no pipes".into());
        };
        let runner = Arc::new(Self {
            stdin: tokio::sync::Mutex::new(stdin),
            waiting: Mutex::new(HashMap::new()),
            alive: AtomicBool::new(true),
            _child: child,
        });
        tokio::spawn(read_loop(Arc::clone(&runner), stdout));
        Ok(runner)
    }

    fn waiting(&self) -> MutexGuard<'_, Waiting> {
        // Inserts and removes cannot leave the map half-written.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn send(&self, command: &protocol::Command<'_>) -> Result<(), String> {
        let mut line = serde_json::to_vec(command).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let mut stdin = self.stdin.lock().await;
        stdin
            .write_all(&line)
            .await
            .map_err(|e| format!("writing to the Python task runner: {e}"))
    }
}

/// Routes the runner's lines to the tries waiting for them; when the runner
/// goes away, every waiting try sees its channel close.
async fn read_loop(runner: Arc<Runner>, stdout: ChildStdout) {
    let mut lines = BufReader::with_capacity(1 << 16, stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let msg: protocol::Message = match serde_json::from_str(&line) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable line from the Python task runner");
                continue;
            }
        };
        let mut waiting = runner.waiting();
        let event = if let Some(result) = msg.result {
            let tx = waiting.remove(&msg.id);
            tx.map(|tx| (tx, Event::Done(result)))
        } else {
            let out = match (msg.log, msg.mask) {
                (Some(l), _) => Output::Line(l),
                (None, Some(m)) => Output::Secret(m),
                (None, None) => continue,
            };
            waiting.get(&msg.id).map(|tx| (tx.clone(), Event::Out(out)))
        };
        drop(waiting);
        if let Some((tx, ev)) = event {
            // The try may have given up waiting: nothing to do then.
            let _ = tx.send(ev);
        }
    }
    runner.alive.store(false, Ordering::SeqCst);
    runner.waiting().clear();
    tracing::warn!("the Python task runner exited");
}

/// The shared runner, started (or restarted) when needed.
async fn runner() -> Result<Arc<Runner>, String> {
    let mut current = CURRENT.lock().await;
    if let Some(r) = current.as_ref().filter(|r| r.alive.load(Ordering::SeqCst)) {
        return Ok(Arc::clone(r));
    }
    let fresh = Runner::spawn()?;
    *current = Some(Arc::clone(&fresh));
    Ok(fresh)
}

/// Starts the runner now, so the first Python task does not pay for it.
pub async fn warm_up() -> Result<(), String> {
    runner().await.map(|_| ())
}

/// Runs one request to its result, streaming its output to `sink` as it
/// arrives, masked with `secrets` and with every secret the task reports
/// reading. When `lost` is notified the task is killed at once; a runner
/// that dies, or a task that outlives its timeout by far, fails the try.
pub async fn run(
    request: &TaskRequest,
    lost: &Notify,
    sink: &impl LogSink,
    secrets: &[SecretSet],
) -> TaskResult {
    let mut read = SecretSet::default();
    let mask = |line: &str, read: &SecretSet| {
        let masked = secrets.iter().fold(line.to_owned(), |acc, s| s.mask(&acc));
        read.mask(&masked)
    };
    let runner = match runner().await {
        Ok(r) => r,
        Err(e) => return TaskResult::failed(e),
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel();
    runner.waiting().insert(id, tx);
    if let Err(e) = runner
        .send(&protocol::Command::Run { id, task: request })
        .await
    {
        runner.waiting().remove(&id);
        return TaskResult::failed(e);
    }
    // The runner enforces `timeout` itself; this backstop covers a stuck runner.
    let backstop = request
        .timeout
        .map(|t| Duration::from_secs_f64(t.max(0.0)) + CANCEL_GRACE);
    let give_up = tokio::time::sleep(backstop.unwrap_or(NO_BACKSTOP));
    tokio::pin!(give_up);
    let lost_fut = lost.notified();
    tokio::pin!(lost_fut);
    let mut cancelled = false;
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(Event::Out(Output::Line(l))) => sink.line(&mask(&l, &read)).await,
                Some(Event::Out(Output::Secret(s))) => read.add(&s),
                Some(Event::Done(result)) => return result,
                None => {
                    return TaskResult::failed(
                        "The Python task runner exited while the task was running",
                    )
                }
            },
            () = &mut lost_fut, if !cancelled => {
                cancelled = true;
                let _ = runner.send(&protocol::Command::Cancel { id }).await;
                give_up.as_mut().reset(tokio::time::Instant::now() + CANCEL_GRACE);
            }
            () = &mut give_up => {
                if cancelled {
                    runner.waiting().remove(&id);
                    return TaskResult::failed("The Python task runner did not stop the task");
                }
                cancelled = true;
                let _ = runner.send(&protocol::Command::Cancel { id }).await;
                give_up.as_mut().reset(tokio::time::Instant::now() + CANCEL_GRACE);
            }
        }
    }
}
