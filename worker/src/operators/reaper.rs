//! One watchdog per worker process that kills the process groups of running
//! commands when the worker dies, however it dies (even `kill -9`).
//!
//! Why not `PR_SET_PDEATHSIG` on bash: it needs `unsafe` `pre_exec` (the
//! workspace denies `unsafe`), and it would only kill bash itself: the
//! command's own children (`sleep 600 &`, a pipeline) are re-parented to init
//! and live on. Instead a small bash, in a process group of its own (a Ctrl-C
//! to the worker's terminal must not kill it first), reads `+ PGID` / `- PGID`
//! lines from a pipe whose only write end this worker holds (close-on-exec,
//! so no command inherits it). When the worker exits or is killed, the kernel
//! closes that end, `read` sees end-of-file, and the watchdog sends SIGKILL to
//! every group still registered: bash and every descendant that stayed in its
//! group. One watchdog serves every command (an earlier design started one
//! `sh` per command, which cost a process spawn per try).

use std::io::{self, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use std::os::unix::process::CommandExt;

const SCRIPT: &str = r#"declare -A live
while read -r op pg; do
  case $op in
    +) live[$pg]=1 ;;
    -) unset "live[$pg]" ;;
  esac
done
for pg in "${!live[@]}"; do kill -s KILL -- "-$pg" 2>/dev/null; done
"#;

struct Watchdog {
    _child: Child,
    stdin: ChildStdin,
}

impl Watchdog {
    fn start() -> io::Result<Self> {
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("the watchdog has no stdin"))?;
        Ok(Self {
            _child: child,
            stdin,
        })
    }
}

fn watchdog() -> &'static Mutex<Option<Watchdog>> {
    static WATCHDOG: OnceLock<Mutex<Option<Watchdog>>> = OnceLock::new();
    WATCHDOG.get_or_init(|| Mutex::new(None))
}

/// Sends one line, starting the watchdog (again, if it died) when needed.
fn send(line: &str) -> io::Result<()> {
    let mut guard = watchdog()
        .lock()
        .map_err(|_| io::Error::other("the watchdog lock is poisoned"))?;
    if let Some(w) = guard.as_mut()
        && w.stdin.write_all(line.as_bytes()).is_ok()
    {
        return Ok(());
    }
    // Not started yet, or it died (its registrations went with it).
    let mut fresh = Watchdog::start()?;
    fresh.stdin.write_all(line.as_bytes())?;
    *guard = Some(fresh);
    Ok(())
}

/// A command's process group, registered with the watchdog while it runs.
#[derive(Debug)]
pub struct Registration(u32);

impl Registration {
    /// Registers `pgid`; an error means the command must not run unguarded.
    pub fn new(pgid: u32) -> io::Result<Self> {
        send(&format!("+ {pgid}\n"))?;
        Ok(Self(pgid))
    }
}

impl Drop for Registration {
    /// The command is over (or being stopped): the watchdog must not kill
    /// what it left running, nor a later group that reuses the id.
    fn drop(&mut self) {
        if let Err(e) = send(&format!("- {}\n", self.0)) {
            tracing::warn!(error = %e, pgid = self.0, "could not unregister a process group");
        }
    }
}
