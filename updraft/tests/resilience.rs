//! Crashes and restarts with real processes and a real PostgreSQL: a worker
//! killed with SIGKILL mid-task, a scheduler killed and restarted, two
//! schedulers and two workers at once, and the database restarted under load.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use support::Updraft;
use updraft_testkit::PgCluster;

/// A component process whose output goes to a file in the home (shown when
/// a test fails) and which is stopped when dropped.
struct Proc {
    child: Child,
    name: String,
    log: PathBuf,
}

impl Proc {
    fn spawn(u: &Updraft, name: &str, args: &[&str]) -> Self {
        let log = u.home.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = u
            .command(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(file.try_clone().expect("clone log")))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("spawn updraft");
        Self {
            child,
            name: name.to_owned(),
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {}", self.name);
    }

    /// SIGKILL, and reap it.
    fn kill9(mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }

    /// SIGTERM; the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.child.wait().expect("wait")
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `query` (one text value) until `done` holds or `secs` pass; the
/// last value seen. Errors (the database restarting) count as not done.
async fn wait_for(pool: &PgPool, query: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(v) =
            sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(query.to_owned()))
                .fetch_one(pool)
                .await
        {
            last = v.unwrap_or_default();
            if done(&last) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

async fn run_state(pool: &PgPool, run_id: &str, secs: u64) -> String {
    let q = format!("SELECT state FROM dag_run WHERE run_id = '{run_id}'");
    wait_for(pool, &q, secs, |s| s == "success" || s == "failed").await
}

async fn ti_states(pool: &PgPool, dag_id: &str) -> Vec<(String, String, Option<String>, i32)> {
    sqlx::query_as(
        "SELECT run_id, task_id, state, try_number FROM task_instance WHERE dag_id = $1
          ORDER BY run_id, task_id",
    )
    .bind(dag_id)
    .fetch_all(pool)
    .await
    .expect("task instances")
}

/// Alive: /proc has it and it is not a zombie waiting to be reaped.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_owned())
        })
        .is_some_and(|rest| !rest.starts_with('Z'))
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

async fn wait_pids(dir: &Path, names: &[&str]) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pids: Vec<i32> = names
            .iter()
            .filter_map(|n| read_pid(&dir.join(n)))
            .collect();
        if pids.len() == names.len() || Instant::now() > deadline {
            return pids;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn zombie_dag(dir: &Path) -> String {
    let d = dir.display();
    // The first try of each task records bash's pid and a background child's,
    // then waits for ever; a second try succeeds at once.
    let cmd = |name: &str| {
        format!(
            "if [ -f {d}/{name}.done ]; then echo second try; exit 0; fi; touch {d}/{name}.done; \
             echo $$ > {d}/{name}.bash; sleep 300 & echo $! > {d}/{name}.child; wait"
        )
    };
    format!(
        r#"
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(dag_id="zombie", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    BashOperator(task_id="retried", retries=1, bash_command="{}")
    BashOperator(task_id="no_retries", retries=0, bash_command="{}")
"#,
        cmd("retried"),
        cmd("no_retries")
    )
}

// Invariant: a worker killed with SIGKILL leaves no running task instance
// behind (its lease expires and the scheduler retries or fails the try), and
// no bash process of its survives it.
#[tokio::test]
async fn a_killed_worker_leaves_no_zombie_and_no_process() {
    let u = Updraft::new().await;
    let marks = u.home.path().join("marks");
    std::fs::create_dir_all(&marks).expect("mkdir");
    u.write_dag("zombie.py", &zombie_dag(&marks));
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "zombie"]);
    u.ok(&["dags", "trigger", "zombie", "--run-id", "r1"]);
    let scheduler = Proc::spawn(&u, "scheduler", &["scheduler", "--interval", "0.2"]);
    let worker = Proc::spawn(&u, "worker", &["worker", "--lease", "2"]);

    let names = [
        "retried.bash",
        "retried.child",
        "no_retries.bash",
        "no_retries.child",
    ];
    let pids = wait_pids(&marks, &names).await;
    assert_eq!(pids.len(), 4, "both tries started: {}", worker.output());
    assert!(pids.iter().all(|p| alive(*p)), "the commands run");
    worker.kill9();

    // The lifeline kills bash and its background child with the worker.
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let survivors: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(
        survivors.is_empty(),
        "processes outlived the killed worker: {survivors:?}"
    );

    // The expired leases are reaped: one retry pending, one failed.
    let q = "SELECT string_agg(task_id || '=' || coalesce(state, 'none'), ',' ORDER BY task_id)
               FROM task_instance WHERE dag_id = 'zombie'";
    let states = wait_for(&u.db.pool, q, 30, |s| !s.contains("running")).await;
    assert_eq!(states, "no_retries=failed,retried=up_for_retry");
    let history: Vec<(String, i32, String)> = sqlx::query_as(
        "SELECT t.task_id, h.try_number, h.state FROM task_instance_history h
           JOIN task_instance t ON t.id = h.ti_id ORDER BY t.task_id",
    )
    .fetch_all(&u.db.pool)
    .await
    .expect("history");
    assert_eq!(
        history,
        vec![
            ("no_retries".into(), 1, "failed".into()),
            ("retried".into(), 1, "up_for_retry".into())
        ]
    );

    // Reaped tries wait the scheduler's retry delay: bring it forward, and a
    // new worker runs the second try.
    sqlx::query("UPDATE task_instance SET next_retry_at = now() WHERE state = 'up_for_retry'")
        .execute(&u.db.pool)
        .await
        .expect("nudge");
    let worker2 = Proc::spawn(&u, "worker2", &["worker", "--lease", "2"]);
    let run = run_state(&u.db.pool, "r1", 60).await;
    let tis = ti_states(&u.db.pool, "zombie").await;
    assert_eq!(run, "failed", "one task ran out of tries: {tis:?}");
    assert_eq!(
        tis,
        vec![
            ("r1".into(), "no_retries".into(), Some("failed".into()), 1),
            ("r1".into(), "retried".into(), Some("success".into()), 2),
        ],
        "{}",
        worker2.output()
    );
    assert!(worker2.stop().success());
    assert!(scheduler.stop().success());
}

const CHAIN: &str = r#"
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(dag_id="chain", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    prev = None
    for i in range(4):
        t = BashOperator(task_id=f"t{i}", retries=0, bash_command="sleep 0.5; echo {{ ti.task_id }}")
        if prev:
            prev >> t
        prev = t
"#;

// Invariant: a scheduler killed mid-run and started again carries the run
// on from what the database says, each task run exactly once.
#[tokio::test]
async fn a_restarted_scheduler_carries_on() {
    let u = Updraft::new().await;
    u.write_dag("chain.py", CHAIN);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "chain"]);
    u.ok(&["dags", "trigger", "chain", "--run-id", "r1"]);
    let worker = Proc::spawn(&u, "worker", &["worker", "--concurrency", "4"]);
    let scheduler = Proc::spawn(&u, "scheduler", &["scheduler", "--interval", "0.2"]);
    let q = "SELECT state FROM task_instance WHERE run_id = 'r1' AND task_id = 't1'";
    let t1 = wait_for(&u.db.pool, q, 60, |s| s == "running" || s == "success").await;
    assert!(t1 == "running" || t1 == "success", "t1 started: {t1}");
    scheduler.kill9();
    // The worker finishes what it holds while no scheduler runs.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let scheduler = Proc::spawn(&u, "scheduler2", &["scheduler", "--interval", "0.2"]);
    let run = run_state(&u.db.pool, "r1", 60).await;
    let tis = ti_states(&u.db.pool, "chain").await;
    assert_eq!(run, "success", "{tis:?}\n{}", scheduler.output());
    assert!(
        tis.iter()
            .all(|(_, _, state, tries)| state.as_deref() == Some("success") && *tries == 1),
        "every task once: {tis:?}"
    );
    assert_eq!(tis.len(), 4);
    assert!(scheduler.stop().success());
    assert!(worker.stop().success());
}

fn fanout_dag(out: &Path) -> String {
    format!(
        r#"
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="racing", schedule="@daily", start_date=datetime(2024, 1, 1),
         end_date=datetime(2024, 1, 3), catchup=True, max_active_runs=16):
    start = EmptyOperator(task_id="start")
    for i in range(6):
        start >> BashOperator(
            task_id=f"b{{i}}", retries=2,
            bash_command="echo {{{{ run_id }}}} {{{{ ti.task_id }}}} >> {out}",
        )
"#,
        out = out.display()
    )
}

// Invariant: two schedulers and two workers against one database create
// each run once, queue and run each task instance once.
#[tokio::test]
async fn two_schedulers_and_two_workers_do_everything_once() {
    let u = Updraft::new().await;
    let out = u.home.path().join("executions.txt");
    u.write_dag("racing.py", &fanout_dag(&out));
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "racing"]);
    let procs = [
        Proc::spawn(&u, "scheduler1", &["scheduler", "--interval", "0.1"]),
        Proc::spawn(&u, "scheduler2", &["scheduler", "--interval", "0.1"]),
        Proc::spawn(&u, "worker1", &["worker", "--concurrency", "4"]),
        Proc::spawn(&u, "worker2", &["worker", "--concurrency", "4"]),
    ];
    // @daily from 2024-01-01 with end_date 2024-01-03 and catchup: Airflow
    // creates the runs of logical dates 01-01, 01-02 and 01-03.
    let q = "SELECT (count(*) FILTER (WHERE state = 'success'))::text FROM dag_run
              WHERE dag_id = 'racing'";
    let done = wait_for(&u.db.pool, q, 90, |n| n == "3").await;
    // Let any second creation or execution happen before counting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let logs: Vec<String> = procs.iter().map(Proc::output).collect();
    for p in procs {
        assert!(p.stop().success());
    }
    assert_eq!(done, "3", "{logs:#?}");
    let runs: Vec<(String, String)> = sqlx::query_as(
        "SELECT to_char(logical_date AT TIME ZONE 'UTC', 'YYYY-MM-DD'), state
           FROM dag_run WHERE dag_id = 'racing' ORDER BY logical_date",
    )
    .fetch_all(&u.db.pool)
    .await
    .expect("runs");
    assert_eq!(
        runs,
        vec![
            ("2024-01-01".into(), "success".into()),
            ("2024-01-02".into(), "success".into()),
            ("2024-01-03".into(), "success".into()),
        ]
    );
    let tis = ti_states(&u.db.pool, "racing").await;
    assert_eq!(tis.len(), 3 * 7);
    assert!(
        tis.iter().all(|(_, _, _, tries)| *tries <= 1),
        "no task was tried twice: {tis:?}"
    );
    let history: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM task_instance_history h JOIN task_instance t ON t.id = h.ti_id
          WHERE t.dag_id = 'racing' AND t.task_id <> 'start'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("history");
    assert_eq!(history, 3 * 6, "one finished try per bash task");
    let text = std::fs::read_to_string(&out).expect("executions");
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3 * 6, "each bash task ran once:\n{text}");
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), 3 * 6, "no task ran twice:\n{text}");
}

const LOAD: &str = r#"
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(dag_id="load", schedule=None, start_date=datetime(2024, 1, 1), catchup=False,
         max_active_runs=16):
    prev = None
    for i in range(5):
        t = BashOperator(task_id=f"t{i}", retries=0, bash_command="sleep 0.4; echo {{ ti.task_id }}")
        if prev:
            prev >> t
        prev = t
"#;

const LATE: &str = r#"
from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="after_restart", schedule=None, start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id="e")
"#;

// Invariant: the database restarting under load loses nothing: the
// processor, scheduler and worker reconnect, and the runs in flight finish
// with every task run once (no retries: retries=0 would fail them).
#[tokio::test]
async fn a_database_restart_under_load_loses_nothing() {
    let cluster = PgCluster::start().expect("private cluster");
    let u = Updraft::on_server(&cluster.admin_url()).await;
    u.write_dag("load.py", LOAD);
    u.ok(&["dags", "reserialize"]);
    u.ok(&["dags", "unpause", "load"]);
    for i in 0..4 {
        u.ok(&["dags", "trigger", "load", "--run-id", &format!("r{i}")]);
    }
    let u = u.env("UPDRAFT__DAG_PROCESSOR__REFRESH_INTERVAL", "0.5");
    let standalone = Proc::spawn(&u, "standalone", &["standalone"]);
    let q = "SELECT count(*)::text FROM task_instance WHERE dag_id = 'load' AND state = 'success'";
    let before = wait_for(&u.db.pool, q, 60, |n| n.parse::<i32>().unwrap_or(0) >= 3).await;
    assert!(
        before.parse::<i32>().unwrap_or(0) >= 3,
        "under way: {before}\n{}",
        standalone.output()
    );

    cluster.stop().expect("stop postgres");
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.start_again().expect("start postgres");
    // A DAG file added after the restart shows the processor reconnected.
    u.write_dag("late.py", LATE);

    for i in 0..4 {
        let state = run_state(&u.db.pool, &format!("r{i}"), 90).await;
        let tis = ti_states(&u.db.pool, "load").await;
        assert_eq!(state, "success", "r{i}: {tis:?}\n{}", standalone.output());
    }
    let tis = ti_states(&u.db.pool, "load").await;
    assert_eq!(tis.len(), 20);
    assert!(
        tis.iter()
            .all(|(_, _, state, tries)| state.as_deref() == Some("success") && *tries == 1),
        "every task once, none lost or retried: {tis:?}"
    );
    let q = "SELECT dag_id FROM dag WHERE dag_id = 'after_restart'";
    // Generous: on a loaded 2-core CI machine the refresh after the restart
    // waits for the pool's reconnect backoff.
    let late = wait_for(&u.db.pool, q, 90, |d| d == "after_restart").await;
    assert_eq!(late, "after_restart", "{}", standalone.output());
    let status = standalone.stop();
    assert!(
        status.success(),
        "standalone stops cleanly after the restart"
    );
}
