//! Real `bash` processes; every test asserts the outcome and the log.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::log_sink::{Filtered, MemorySink};

const WAIT: Duration = Duration::from_secs(10);

async fn run(spec: &BashSpec) -> (Result<BashOutcome, BashError>, Vec<String>) {
    let sink = MemorySink::new();
    let result = run_bash(spec, &sink, RunLimits::default(), std::future::pending()).await;
    (result, sink.lines())
}

fn in_dir(command: &str, dir: &Path) -> BashSpec {
    BashSpec {
        cwd: Some(dir.to_owned()),
        ..BashSpec::new(command)
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The environment the command saw, from `env -0` written to a file.
fn read_env(path: &Path) -> BTreeMap<String, String> {
    let raw = std::fs::read(path).expect("the command wrote its environment");
    raw.split(|b| *b == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok()?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Variables bash sets itself even in an empty environment.
const BASH_OWN: &[&str] = &["PWD", "SHLVL", "_", "OLDPWD"];

fn context() -> BTreeMap<String, String> {
    map(&[
        ("AIRFLOW_CTX_DAG_ID", "example"),
        ("AIRFLOW_CTX_TASK_ID", "say_hi"),
    ])
}

/// Alive means present in /proc and not a zombie.
fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => false,
    }
}

async fn wait_dead(pid: &str) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

// The last output line is the XCom value; every line reaches the log in order.
#[tokio::test]
async fn success_returns_last_line() {
    let (result, log) = run(&BashSpec::new("echo one; echo 'two  '")).await;
    let last_line = Some("two".to_owned());
    assert_eq!(result.ok(), Some(BashOutcome::Success { last_line }));
    assert_eq!(log, vec!["one", "two"]);
}

// No output means no XCom value.
#[tokio::test]
async fn silent_command_has_no_last_line() {
    let (result, log) = run(&BashSpec::new("true")).await;
    assert_eq!(result.ok(), Some(BashOutcome::Success { last_line: None }));
    assert!(log.is_empty());
}

// env=None: the command sees the worker's environment plus the context vars.
#[tokio::test]
async fn no_env_inherits_worker_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = BashSpec {
        context_env: context(),
        ..in_dir("env -0 > env.out", dir.path())
    };
    let (result, _) = run(&spec).await;
    assert!(matches!(result, Ok(BashOutcome::Success { .. })));
    let seen = read_env(&dir.path().join("env.out"));
    let worker: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| !BASH_OWN.contains(&k.as_str()))
        .collect();
    assert!(!worker.is_empty());
    for (key, value) in &worker {
        assert_eq!(seen.get(key), Some(value), "worker variable {key}");
    }
    assert_eq!(
        seen.get("AIRFLOW_CTX_DAG_ID").map(String::as_str),
        Some("example")
    );
}

// env given, append_env false: exactly env plus the context vars, nothing of the worker's.
#[tokio::test]
async fn env_without_append_replaces_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = BashSpec {
        env: Some(map(&[
            ("GREETING", "hello"),
            ("AIRFLOW_CTX_TASK_ID", "overridden"),
        ])),
        context_env: context(),
        ..in_dir("/usr/bin/env -0 > env.out", dir.path())
    };
    let (result, _) = run(&spec).await;
    assert!(matches!(result, Ok(BashOutcome::Success { .. })));
    let mut seen = read_env(&dir.path().join("env.out"));
    seen.retain(|k, _| !BASH_OWN.contains(&k.as_str()));
    let expected = map(&[
        ("GREETING", "hello"),
        ("AIRFLOW_CTX_DAG_ID", "example"),
        ("AIRFLOW_CTX_TASK_ID", "say_hi"),
    ]);
    assert_eq!(seen, expected);
}

// append_env: the worker's environment, overlaid by env, overlaid by the context vars.
#[tokio::test]
async fn append_env_merges_with_worker_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = BashSpec {
        env: Some(map(&[("GREETING", "hello"), ("PATH", "/usr/bin:/bin")])),
        append_env: true,
        context_env: context(),
        ..in_dir("env -0 > env.out", dir.path())
    };
    let (result, _) = run(&spec).await;
    assert!(matches!(result, Ok(BashOutcome::Success { .. })));
    let seen = read_env(&dir.path().join("env.out"));
    assert_eq!(seen.get("GREETING").map(String::as_str), Some("hello"));
    assert_eq!(seen.get("PATH").map(String::as_str), Some("/usr/bin:/bin"));
    assert_eq!(
        seen.get("AIRFLOW_CTX_TASK_ID").map(String::as_str),
        Some("say_hi")
    );
    let inherited = std::env::vars().find(|(k, _)| !BASH_OWN.contains(&k.as_str()) && k != "PATH");
    if let Some((key, value)) = inherited {
        assert_eq!(seen.get(&key), Some(&value), "worker variable {key}");
    }
}

// cwd is where the command runs.
#[tokio::test]
async fn cwd_is_honoured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (result, _) = run(&in_dir("pwd -P", dir.path())).await;
    let canonical = dir.path().canonicalize().expect("canonical");
    let last_line = Some(canonical.display().to_string());
    assert_eq!(result.ok(), Some(BashOutcome::Success { last_line }));
}

// A missing cwd, or a file as cwd, fails before anything runs, in Airflow's words.
#[tokio::test]
async fn bad_cwd_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let (result, log) = run(&in_dir("echo ran", &missing)).await;
    let err = result.expect_err("missing cwd");
    assert!(matches!(err, BashError::CwdMissing(_)));
    assert_eq!(
        err.to_string(),
        format!("Can not find the cwd: {}", missing.display())
    );
    assert!(log.is_empty());

    let file = dir.path().join("file");
    std::fs::write(&file, "x").expect("write");
    let (result, _) = run(&in_dir("echo ran", &file)).await;
    let err = result.expect_err("file cwd");
    assert_eq!(
        err.to_string(),
        format!("The cwd {} must be a directory", file.display())
    );
}

// Without cwd the command runs in a fresh airflowtmp* directory, removed afterwards.
#[tokio::test]
async fn default_cwd_is_a_removed_temp_dir() {
    let (result, _) = run(&BashSpec::new("pwd")).await;
    let Ok(BashOutcome::Success {
        last_line: Some(pwd),
    }) = result
    else {
        panic!("unexpected {result:?}");
    };
    let name = Path::new(&pwd)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    assert!(name.starts_with("airflowtmp"), "{pwd}");
    assert!(!Path::new(&pwd).exists());
}

// Exit 99 skips by default; the skip codes are configurable, and other codes fail.
#[tokio::test]
async fn skip_exit_codes() {
    let (result, _) = run(&BashSpec::new("exit 99")).await;
    assert_eq!(result.ok(), Some(BashOutcome::Skipped { exit_code: 99 }));

    let custom = |command: &str| BashSpec {
        skip_on_exit_codes: vec![3, 4],
        ..BashSpec::new(command)
    };
    let (result, _) = run(&custom("exit 4")).await;
    assert_eq!(result.ok(), Some(BashOutcome::Skipped { exit_code: 4 }));
    let (result, _) = run(&custom("exit 99")).await;
    assert!(matches!(
        result,
        Ok(BashOutcome::Failed { exit_code: 99, .. })
    ));
    assert_eq!(
        BashOutcome::skip_message(4),
        "Bash command returned exit code 4. Skipping."
    );
}

// A non-zero exit fails with Airflow's message; the output before it is logged.
#[tokio::test]
async fn non_zero_exit_fails() {
    let (result, log) = run(&BashSpec::new("echo working; exit 3")).await;
    let message = "Bash command failed. The command returned a non-zero exit code 3.".to_owned();
    assert_eq!(
        result.ok(),
        Some(BashOutcome::Failed {
            exit_code: 3,
            message
        })
    );
    assert_eq!(log, vec!["working"]);
}

// Death by signal N is exit code -N, as Python reports it.
#[tokio::test]
async fn killed_by_signal_is_negative_code() {
    let (result, _) = run(&BashSpec::new("kill -9 $$")).await;
    assert!(matches!(
        result,
        Ok(BashOutcome::Failed { exit_code: -9, .. })
    ));
}

// stderr is merged into the log, interleaved with stdout.
#[tokio::test]
async fn stderr_is_logged() {
    let (result, log) = run(&BashSpec::new("echo out; echo err >&2; echo out2")).await;
    assert!(matches!(result, Ok(BashOutcome::Success { .. })));
    assert_eq!(log, vec!["out", "err", "out2"]);
}

// Lines reach the log while the command still runs.
#[tokio::test]
async fn output_streams_while_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = in_dir(
        "echo first; while [ ! -e go ]; do sleep 0.02; done; echo second",
        dir.path(),
    );
    let sink = Arc::new(MemorySink::new());
    let task_sink = Arc::clone(&sink);
    let task = tokio::spawn(async move {
        run_bash(
            &spec,
            &task_sink,
            RunLimits::default(),
            std::future::pending(),
        )
        .await
    });
    // The command cannot finish before `go` exists, which we create only now.
    assert!(sink.wait_for_line(|l| l == "first", WAIT).await);
    assert!(!task.is_finished());
    std::fs::write(dir.path().join("go"), "").expect("write");
    let result = tokio::time::timeout(WAIT, task).await.expect("finishes");
    let last_line = Some("second".to_owned());
    assert_eq!(
        result.expect("joined").ok(),
        Some(BashOutcome::Success { last_line })
    );
}

// A timeout kills the whole process group: no background child survives.
#[tokio::test]
async fn timeout_kills_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = in_dir("sleep 1000 & echo $! > child.pid; wait", dir.path());
    let sink = MemorySink::new();
    let limits = RunLimits {
        timeout: Some(Duration::from_millis(500)),
        kill_grace: Duration::from_secs(5),
    };
    let started = Instant::now();
    let result = run_bash(&spec, &sink, limits, std::future::pending()).await;
    assert!(matches!(result, Err(BashError::TimedOut(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    let pid = std::fs::read_to_string(dir.path().join("child.pid")).expect("pid file");
    assert!(wait_dead(pid.trim()).await, "sleep {pid} survived");
}

// A child ignoring SIGTERM is SIGKILLed after the grace period.
#[tokio::test]
async fn cancel_escalates_to_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = in_dir(
        "trap '' TERM; sleep 1000 & echo $! > child.pid; echo started; wait",
        dir.path(),
    );
    let sink = MemorySink::new();
    let limits = RunLimits {
        timeout: None,
        kill_grace: Duration::from_millis(200),
    };
    let cancel = async {
        sink.wait_for_line(|l| l == "started", WAIT).await;
    };
    let result = run_bash(&spec, &sink, limits, cancel).await;
    assert!(matches!(result, Err(BashError::Cancelled)), "{result:?}");
    let pid = std::fs::read_to_string(dir.path().join("child.pid")).expect("pid file");
    assert!(wait_dead(pid.trim()).await, "sleep {pid} survived");
}

// Dropping a run mid-flight (its task aborted) kills the process group too.
#[tokio::test]
async fn dropped_run_kills_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = in_dir(
        "sleep 1000 & echo $! > child.pid; echo started; wait",
        dir.path(),
    );
    let sink = MemorySink::new();
    {
        let run = run_bash(&spec, &sink, RunLimits::default(), std::future::pending());
        let started = sink.wait_for_line(|l| l == "started", WAIT);
        tokio::select! {
            _ = run => panic!("the command cannot finish by itself"),
            seen = started => assert!(seen),
        }
    }
    let pid = std::fs::read_to_string(dir.path().join("child.pid")).expect("pid file");
    assert!(wait_dead(pid.trim()).await, "sleep {pid} survived");
}

// Output far larger than a pipe buffer does not deadlock.
#[tokio::test]
async fn huge_output_does_not_deadlock() {
    let spec = BashSpec::new("yes line | head -n 200000; head -c 3000000 /dev/zero | tr '\\0' a");
    let sink = MemorySink::new();
    let limits = RunLimits {
        timeout: Some(Duration::from_secs(60)),
        ..RunLimits::default()
    };
    let result = run_bash(&spec, &sink, limits, std::future::pending()).await;
    let Ok(BashOutcome::Success {
        last_line: Some(last),
    }) = result
    else {
        panic!("unexpected {result:?}");
    };
    assert_eq!(last.len(), 3_000_000);
    assert_eq!(sink.lines().len(), 200_001);
}

// Invalid bytes are backslash-escaped; latin-1 decodes; unknown codecs are refused.
#[tokio::test]
async fn output_encoding() {
    let (result, _) = run(&BashSpec::new("printf 'caf\\xc3\\xa9 \\xff\\n'")).await;
    let last_line = Some("café \\xff".to_owned());
    assert_eq!(result.ok(), Some(BashOutcome::Success { last_line }));

    let latin = BashSpec {
        output_encoding: "latin-1".to_owned(),
        ..BashSpec::new("printf 'caf\\xe9\\n'")
    };
    let (result, _) = run(&latin).await;
    let last_line = Some("café".to_owned());
    assert_eq!(result.ok(), Some(BashOutcome::Success { last_line }));

    let unknown = BashSpec {
        output_encoding: "klingon".to_owned(),
        ..BashSpec::new("echo hi")
    };
    let (result, _) = run(&unknown).await;
    assert!(matches!(result, Err(BashError::UnsupportedEncoding(_))));
}

// A rendered .sh template runs as a script file in cwd, which is left clean.
#[tokio::test]
async fn script_file_runs_from_cwd() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = BashSpec {
        kind: CommandKind::ScriptFile,
        ..in_dir("#!/bin/bash\necho \"$0\"\necho from script\n", dir.path())
    };
    let (result, log) = run(&spec).await;
    let last_line = Some("from script".to_owned());
    assert_eq!(result.ok(), Some(BashOutcome::Success { last_line }));
    assert!(log[0].ends_with(".sh") && !log[0].contains('/'), "{log:?}");
    let left = std::fs::read_dir(dir.path()).expect("read_dir").count();
    assert_eq!(left, 0);
}

// The masking filter rewrites the log, never the XCom value.
#[tokio::test]
async fn filter_masks_log_not_xcom() {
    let memory = MemorySink::new();
    let sink = Filtered::new(&memory, |l: &str| l.replace("hunter2", "***"));
    let spec = BashSpec::new("echo pw=hunter2");
    let result = run_bash(&spec, &sink, RunLimits::default(), std::future::pending()).await;
    let last_line = Some("pw=hunter2".to_owned());
    assert_eq!(result.ok(), Some(BashOutcome::Success { last_line }));
    assert_eq!(memory.lines(), vec!["pw=***"]);
}
