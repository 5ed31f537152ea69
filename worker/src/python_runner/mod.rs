//! The worker's side of the Python task runner: one long-lived
//! `updraft __task-runner` child (embedded CPython, the compatibility package
//! imported once) started lazily and shared by every Python try of this
//! worker; it forks one child per task. We talk to it over pipes (JSON lines,
//! [`protocol`]), so this crate never links libpython. A runner that dies
//! fails the tries it was running and is replaced on the next request.
//! A job is either run to its result ([`run`]) or held open as a
//! [`Session`] that exchanges data lines with the task while it runs (Kafka
//! tasks); both go through one [`Job`]. See docs/adr/0004-python-task-runner.md.

pub mod protocol;
pub mod session;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde_json::Value as Json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use crate::log_sink::LogSink;
use crate::templates::SecretSet;

pub use protocol::{
    CallSpec, ContextData, Mode, PokeResult, ResultState, TaskRequest, TaskResult, XComRow,
};
pub use session::{Session, SessionEvent};

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
    /// A session job's data line.
    Data(Json),
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
            let ev = match (msg.log, msg.mask, msg.data) {
                (Some(l), _, _) => Event::Out(Output::Line(l)),
                (None, Some(m), _) => Event::Out(Output::Secret(m)),
                (None, None, Some(d)) => Event::Data(d),
                (None, None, None) => continue,
            };
            waiting.get(&msg.id).map(|tx| (tx.clone(), ev))
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
    let mut job = match Job::start(request).await {
        Ok(j) => j,
        Err(e) => return TaskResult::failed(e),
    };
    loop {
        match job.next(lost, sink, secrets).await {
            // Only a session job sends data; nobody would read it here.
            Step::Data(_) => {}
            Step::Done(result) => return result,
        }
    }
}

/// What a job produced next.
enum Step {
    Data(Json),
    Done(TaskResult),
}

/// One job in the runner, from its `run` line to its result. Dropped before
/// its result, it cancels the job (the runner kills the task's child).
struct Job {
    runner: Arc<Runner>,
    id: u64,
    rx: mpsc::UnboundedReceiver<Event>,
    /// Secrets the task reported reading.
    read: SecretSet,
    /// When to cancel (then, after [`CANCEL_GRACE`], give up on) the job.
    give_up: Instant,
    cancelled: bool,
    ended: Option<TaskResult>,
}

impl Job {
    async fn start(request: &TaskRequest) -> Result<Self, String> {
        let runner = runner().await?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        runner.waiting().insert(id, tx);
        if let Err(e) = runner
            .send(&protocol::Command::Run { id, task: request })
            .await
        {
            runner.waiting().remove(&id);
            return Err(e);
        }
        // The runner enforces `timeout` itself; this backstop covers a stuck runner.
        let backstop = request
            .timeout
            .map(|t| Duration::from_secs_f64(t.max(0.0)) + CANCEL_GRACE);
        Ok(Self {
            runner,
            id,
            rx,
            read: SecretSet::default(),
            give_up: Instant::now() + backstop.unwrap_or(NO_BACKSTOP),
            cancelled: false,
            ended: None,
        })
    }

    /// Writes one JSON document to a session job's input.
    async fn feed(&self, data: &Json) -> Result<(), String> {
        let id = self.id;
        self.runner
            .send(&protocol::Command::Feed { id, data })
            .await
    }

    /// The job's next data line or its result (again, once it ended). Log
    /// lines go to `sink` meanwhile, masked; `lost` cancels the job.
    async fn next(&mut self, lost: &Notify, sink: &impl LogSink, secrets: &[SecretSet]) -> Step {
        if let Some(result) = &self.ended {
            return Step::Done(result.clone());
        }
        let give_up = tokio::time::sleep_until(self.give_up);
        tokio::pin!(give_up);
        let lost_fut = lost.notified();
        tokio::pin!(lost_fut);
        loop {
            tokio::select! {
                ev = self.rx.recv() => match ev {
                    Some(Event::Out(Output::Line(l))) => {
                        let masked = secrets.iter().fold(l, |acc, s| s.mask(&acc));
                        sink.line(&self.read.mask(&masked)).await;
                    }
                    Some(Event::Out(Output::Secret(s))) => self.read.add(&s),
                    Some(Event::Data(d)) => return Step::Data(d),
                    Some(Event::Done(result)) => return self.end(result),
                    None => {
                        return self.end(TaskResult::failed(
                            "The Python task runner exited while the task was running",
                        ));
                    }
                },
                () = &mut lost_fut, if !self.cancelled => {
                    self.cancel().await;
                    give_up.as_mut().reset(self.give_up);
                }
                () = &mut give_up => {
                    if self.cancelled {
                        self.runner.waiting().remove(&self.id);
                        return self.end(TaskResult::failed(
                            "The Python task runner did not stop the task",
                        ));
                    }
                    self.cancel().await;
                    give_up.as_mut().reset(self.give_up);
                }
            }
        }
    }

    /// Asks the runner to kill the task; its result follows.
    async fn cancel(&mut self) {
        self.cancelled = true;
        let _ = self
            .runner
            .send(&protocol::Command::Cancel { id: self.id })
            .await;
        self.give_up = Instant::now() + CANCEL_GRACE;
    }

    fn end(&mut self, result: TaskResult) -> Step {
        self.ended = Some(result.clone());
        Step::Done(result)
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if self.ended.is_some() {
            return;
        }
        self.runner.waiting().remove(&self.id);
        let (runner, id) = (Arc::clone(&self.runner), self.id);
        // Nobody waits for this job any more: kill it rather than leave it running.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = runner.send(&protocol::Command::Cancel { id }).await;
            });
        }
    }
}
