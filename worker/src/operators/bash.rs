//! BashOperator and `@task.bash`, run natively with Airflow's semantics
//! (`providers/standard/operators/bash.py` and `hooks/subprocess.py`):
//!
//! - `bash -c COMMAND` (or `bash FILE` for a rendered `.sh`/`.bash` template) in
//!   its own process group, stdin closed, stderr merged into stdout;
//! - environment: the worker's when `env` is `None`; exactly `env` when given
//!   (the worker's plus `env` with `append_env`); the Airflow context variables
//!   (`AIRFLOW_CTX_*`) on top in every case;
//! - working directory: `cwd`, which must exist and be a directory, else a
//!   fresh `airflowtmp*` directory removed afterwards;
//! - each output line is decoded (invalid bytes become `\xNN`, like Python's
//!   `backslashreplace`), right-trimmed and sent to the [`LogSink`] as it
//!   arrives; the last line is the XCom value;
//! - exit code in `skip_on_exit_codes` (default 99) → skipped, other non-zero →
//!   failed, killed by signal N → exit code -N (as Python reports it);
//! - on timeout or cancellation the whole group gets SIGTERM, then SIGKILL after
//!   a grace period, so background children die with the command;
//! - should the worker itself die (even by SIGKILL, which it cannot catch),
//!   the worker's watchdog ([`super::reaper`]) kills the whole group, so no
//!   command outlives the worker that started it.
//!
//! Rendering the command and masking secrets happen elsewhere (templates, and a
//! [`crate::log_sink::Filtered`] sink); this module does not touch the database.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};

use super::reaper;
use crate::log_sink::LogSink;

mod encoding;
#[cfg(test)]
mod tests;

use encoding::Decoder;

/// Airflow's default `skip_on_exit_code`.
pub const DEFAULT_SKIP_EXIT_CODE: i32 = 99;

/// How `BashSpec::command` is handed to bash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// `bash -c COMMAND`.
    Inline,
    /// The command is the rendered text of a `.sh`/`.bash` template: it is
    /// written to a temporary `*.sh` file in the working directory (which must
    /// be writable) and run as `bash FILE`, avoiding "Argument list too long".
    ScriptFile,
}

/// A BashOperator's rendered arguments plus the context variables to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BashSpec {
    pub command: String,
    pub kind: CommandKind,
    /// `None`: inherit the worker's environment.
    pub env: Option<BTreeMap<String, String>>,
    /// With `env`: start from the worker's environment and overlay `env`.
    pub append_env: bool,
    pub cwd: Option<PathBuf>,
    /// Airflow's `skip_on_exit_code` as a list (`None` there is an empty list).
    pub skip_on_exit_codes: Vec<i32>,
    /// Python codec name: utf-8, ascii and latin-1 (with aliases) are supported.
    pub output_encoding: String,
    /// `AIRFLOW_CTX_DAG_ID`, `AIRFLOW_CTX_TASK_ID`, ...: always exported.
    pub context_env: BTreeMap<String, String>,
}

impl BashSpec {
    /// An inline command with Airflow's defaults.
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            kind: CommandKind::Inline,
            env: None,
            append_env: false,
            cwd: None,
            skip_on_exit_codes: vec![DEFAULT_SKIP_EXIT_CODE],
            output_encoding: "utf-8".to_owned(),
            context_env: BTreeMap::new(),
        }
    }
}

/// When to stop a running command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// The task's `execution_timeout`.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL to the process group.
    pub kill_grace: Duration,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            timeout: None,
            kill_grace: Duration::from_secs(5),
        }
    }
}

/// How a command that ran to completion ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BashOutcome {
    /// Exit code 0. `last_line` is the XCom value; `None` when the command
    /// printed nothing (Airflow pushes `""` then).
    Success { last_line: Option<String> },
    /// Exit code listed in `skip_on_exit_codes`.
    Skipped { exit_code: i32 },
    /// Any other exit code; `message` is Airflow's wording.
    Failed { exit_code: i32, message: String },
}

impl BashOutcome {
    fn from_exit(exit_code: i32, last_line: Option<String>, skip: &[i32]) -> Self {
        // Airflow checks the skip codes first, so even 0 can be a skip code.
        if skip.contains(&exit_code) {
            Self::Skipped { exit_code }
        } else if exit_code != 0 {
            Self::Failed {
                exit_code,
                message: format!(
                    "Bash command failed. The command returned a non-zero exit code {exit_code}."
                ),
            }
        } else {
            Self::Success { last_line }
        }
    }

    /// The log/UI message for a skip, in Airflow's words.
    pub fn skip_message(exit_code: i32) -> String {
        format!("Bash command returned exit code {exit_code}. Skipping.")
    }
}

/// Why a command could not run to completion. Every variant fails the task.
#[derive(Debug, thiserror::Error)]
pub enum BashError {
    #[error("Can not find the cwd: {}", .0.display())]
    CwdMissing(PathBuf),
    #[error("The cwd {} must be a directory", .0.display())]
    CwdNotDirectory(PathBuf),
    #[error("unsupported output_encoding {0:?}: Updraft decodes utf-8, ascii and latin-1")]
    UnsupportedEncoding(String),
    #[error("could not prepare the bash command: {0}")]
    Prepare(io::Error),
    #[error("could not start bash: {0}")]
    Spawn(io::Error),
    #[error("reading the command's output failed: {0}")]
    Output(io::Error),
    #[error("Timeout: the command ran longer than {0:?}; its process group was killed")]
    TimedOut(Duration),
    #[error("the command was cancelled; its process group was killed")]
    Cancelled,
}

/// Runs one Bash command to completion, timeout or cancellation (`cancel`
/// resolving), streaming its output to `sink`.
#[tracing::instrument(skip_all)]
pub async fn run_bash<S: LogSink>(
    spec: &BashSpec,
    sink: &S,
    limits: RunLimits,
    cancel: impl Future<Output = ()>,
) -> Result<BashOutcome, BashError> {
    let decoder = Decoder::parse(&spec.output_encoding)
        .ok_or_else(|| BashError::UnsupportedEncoding(spec.output_encoding.clone()))?;
    if let Some(cwd) = &spec.cwd {
        check_cwd(cwd).await?;
    }
    // Removed on drop, after the command has finished.
    let (cwd, _temp_dir) = match &spec.cwd {
        Some(cwd) => (cwd.clone(), None),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("airflowtmp")
                .tempdir()
                .map_err(BashError::Prepare)?;
            (dir.path().to_owned(), Some(dir))
        }
    };
    let cwd = cwd.as_path();
    let script = match spec.kind {
        CommandKind::Inline => None,
        CommandKind::ScriptFile => Some(write_script(cwd, &spec.command)?),
    };
    let (mut child, output) = spawn(spec, cwd, script.as_ref().map(|f| f.path()))?;
    let group = GroupGuard(child.id());
    // Declared after `group`, so dropped before it: the watchdog goes first.
    let lifeline = match group.0 {
        Some(pgid) => Some(reaper::Registration::new(pgid).map_err(|e| {
            // Without a lifeline the command could outlive a crashed worker:
            // do not run it.
            let _ = child.start_kill();
            BashError::Spawn(e)
        })?),
        None => None,
    };
    tracing::info!(pid = group.0, "running bash command");

    let deadline = async {
        match limits.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let finished = {
        let work = async {
            let last_line = pump_output(output, sink, decoder).await?;
            let status = child.wait().await?;
            Ok::<_, io::Error>((last_line, status))
        };
        tokio::select! {
            result = work => Ok(result),
            () = deadline => Err(BashError::TimedOut(limits.timeout.unwrap_or_default())),
            () = cancel => Err(BashError::Cancelled),
        }
    };
    // The command is over (or is being stopped below): the watchdog's job
    // is done, and it must not kill what the command left running.
    drop(lifeline);
    match finished {
        Ok(Ok((last_line, status))) => {
            group.disarm();
            let exit_code = exit_code(status);
            tracing::info!(exit_code, "command exited");
            Ok(BashOutcome::from_exit(
                exit_code,
                last_line,
                &spec.skip_on_exit_codes,
            ))
        }
        Ok(Err(e)) => {
            stop_group(&mut child, group, limits.kill_grace).await;
            Err(BashError::Output(e))
        }
        Err(stopped) => {
            tracing::warn!(error = %stopped, "stopping the command's process group");
            stop_group(&mut child, group, limits.kill_grace).await;
            Err(stopped)
        }
    }
}

async fn check_cwd(cwd: &Path) -> Result<(), BashError> {
    match tokio::fs::metadata(cwd).await {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(BashError::CwdNotDirectory(cwd.to_owned())),
        Err(_) => Err(BashError::CwdMissing(cwd.to_owned())),
    }
}

fn write_script(dir: &Path, text: &str) -> Result<tempfile::NamedTempFile, BashError> {
    let mut file = tempfile::Builder::new()
        .suffix(".sh")
        .tempfile_in(dir)
        .map_err(BashError::Prepare)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .map_err(BashError::Prepare)?;
    Ok(file)
}

/// Starts bash as the leader of a new process group, stdout and stderr
/// sharing one pipe so the log keeps their interleaving.
fn spawn(
    spec: &BashSpec,
    cwd: &Path,
    script: Option<&Path>,
) -> Result<(Child, pipe::Receiver), BashError> {
    let (reader, writer) = io::pipe().map_err(BashError::Prepare)?;
    let writer_for_stderr = writer.try_clone().map_err(BashError::Prepare)?;
    let mut cmd = Command::new("bash");
    match script {
        None => cmd.arg("-c").arg(&spec.command),
        // Relative to cwd, as Airflow runs it.
        Some(path) => cmd.arg(path.file_name().unwrap_or(path.as_os_str())),
    };
    cmd.current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(writer_for_stderr))
        .process_group(0)
        .kill_on_drop(true);
    if let Some(env) = &spec.env {
        if !spec.append_env {
            cmd.env_clear();
        }
        cmd.envs(env);
    }
    cmd.envs(&spec.context_env);
    let child = cmd.spawn().map_err(BashError::Spawn)?;
    // `cmd` holds our copies of the pipe's write end: drop them, or the read
    // side never sees end-of-file.
    drop(cmd);
    let output =
        pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(BashError::Prepare)?;
    Ok((child, output))
}

/// Sends every line to the sink until all writers have closed the pipe;
/// returns the last line.
async fn pump_output<S: LogSink>(
    output: pipe::Receiver,
    sink: &S,
    decoder: Decoder,
) -> io::Result<Option<String>> {
    let mut reader = BufReader::with_capacity(64 * 1024, output);
    let mut raw = Vec::new();
    let mut last_line = None;
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw).await? == 0 {
            return Ok(last_line);
        }
        let decoded = decoder.decode(&raw);
        let line = decoded.trim_end();
        sink.line(line).await;
        last_line = Some(line.to_owned());
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|signal| -signal))
        .unwrap_or(-1)
}

/// SIGTERM to the group, up to `grace` for bash to exit, then SIGKILL to the
/// group (whatever ignored SIGTERM), then reap bash.
async fn stop_group(child: &mut Child, group: GroupGuard, grace: Duration) {
    signal_group(group.0, "TERM").await;
    let _ = tokio::time::timeout(grace, child.wait()).await;
    signal_group(group.0, "KILL").await;
    // Should the group signal have failed, still never wait forever on bash.
    let _ = child.start_kill();
    if let Err(e) = child.wait().await {
        tracing::warn!(error = %e, "could not reap bash");
    }
    group.disarm();
}

/// Signals a process group through bash's `kill` builtin (the workspace
/// forbids `unsafe`, so no direct `killpg`). A group already gone is fine.
async fn signal_group(pgid: Option<u32>, signal: &str) {
    let Some(pgid) = pgid else { return };
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!("kill -s {signal} -- -{pgid} 2>/dev/null"))
        .stdin(Stdio::null())
        .status()
        .await;
    if let Err(e) = status {
        tracing::warn!(error = %e, pgid, signal, "could not signal the process group");
    }
}

/// Kills the process group if `run_bash` is dropped mid-run (its task aborted),
/// so no command outlives the run that started it.
#[derive(Debug)]
struct GroupGuard(Option<u32>);

impl GroupGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // Blocking for the few milliseconds `kill` takes; only on abort.
            let _ = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!("kill -s KILL -- -{pgid} 2>/dev/null"))
                .stdin(Stdio::null())
                .status();
        }
    }
}
