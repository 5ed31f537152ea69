//! The DAG processor's bookkeeping: versions only on change, unchanged files
//! not re-parsed, deletions deactivate, duplicates refused, nothing lost when
//! a file breaks, user virtualenvs, and the watching loop.

mod support;

use std::time::{Duration, Instant};

use support::Updraft;

fn dag(dag_id: &str, tasks: &[&str]) -> String {
    let mut s = format!(
        "from datetime import datetime\nfrom airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\n\
         with DAG(dag_id={dag_id:?}, schedule=None, start_date=datetime(2024, 1, 1)):\n"
    );
    for t in tasks {
        s.push_str(&format!("    EmptyOperator(task_id={t:?})\n"));
    }
    s
}

async fn versions(u: &Updraft, dag_id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM dag_version WHERE dag_id = $1")
        .bind(dag_id)
        .fetch_one(&u.db.pool)
        .await
        .expect("count versions")
}

fn parsed(out: &str) -> usize {
    out.split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no file count in {out:?}"))
}

// Invariant: a version is added only when the serialized DAG changes, and the
// processor pass skips files whose content did not change.
#[tokio::test]
async fn versions_follow_changes_and_unchanged_files_are_skipped() {
    let u = Updraft::new().await;
    let path = u.write_dag("d.py", &dag("versioned", &["a"]));
    assert_eq!(parsed(&u.ok(&["dags", "reserialize", "--only-changed"])), 1);
    assert_eq!(parsed(&u.ok(&["dags", "reserialize", "--only-changed"])), 0);
    assert_eq!(versions(&u, "versioned").await, 1);

    // A comment changes the file but not the DAG: parsed again, same version.
    std::fs::write(
        &path,
        format!("# just a comment\n{}", dag("versioned", &["a"])),
    )
    .expect("write");
    assert_eq!(parsed(&u.ok(&["dags", "reserialize", "--only-changed"])), 1);
    assert_eq!(versions(&u, "versioned").await, 1);

    std::fs::write(&path, dag("versioned", &["a", "b"])).expect("write");
    u.ok(&["dags", "reserialize", "--only-changed"]);
    assert_eq!(versions(&u, "versioned").await, 2);
    let shown = u.json(&["dags", "show", "versioned", "--json"]);
    assert_eq!(shown["tasks"].as_array().map(Vec::len), Some(2));

    // `reserialize` parses everything, but an identical DAG is no new version.
    assert_eq!(parsed(&u.ok(&["dags", "reserialize"])), 1);
    assert_eq!(versions(&u, "versioned").await, 2);
}

// Invariant: a DAG whose file is gone, or which its file no longer defines,
// is deactivated (no longer listed), and the file's import error goes too.
#[tokio::test]
async fn deleted_files_and_dags_are_deactivated() {
    let u = Updraft::new().await;
    let two_dags = format!(
        "{}with DAG(dag_id='two', schedule=None, start_date=datetime(2024, 1, 1)):\n    EmptyOperator(task_id='a')\n",
        dag("one", &["a"])
    );
    let keep = u.write_dag("keep.py", &two_dags);
    let gone = u.write_dag("gone.py", &dag("three", &["a"]));
    let broken = u.write_dag(
        "broken.py",
        "from airflow import DAG\nraise ValueError('nope')\n",
    );
    u.ok(&["dags", "reserialize"]);
    assert_eq!(u.dag_ids(), ["one", "three", "two"]);
    assert_eq!(u.import_errors().len(), 1);

    std::fs::remove_file(&gone).expect("rm");
    std::fs::remove_file(&broken).expect("rm");
    std::fs::write(&keep, dag("one", &["a"])).expect("write");
    let out = u.ok(&["dags", "reserialize", "--only-changed"]);
    assert!(out.contains("2 files gone"), "{out}");
    assert_eq!(u.dag_ids(), ["one"]);
    assert!(u.import_errors().is_empty());
}

// Invariant: when a file breaks, its DAGs keep their last good version
// (nothing lost) and the import error says what is wrong.
#[tokio::test]
async fn a_broken_file_keeps_its_last_good_dags() {
    let u = Updraft::new().await;
    let path = u.write_dag("d.py", &dag("steady", &["a", "b"]));
    u.ok(&["dags", "reserialize"]);
    std::fs::write(
        &path,
        format!(
            "{}\nraise RuntimeError('half-edited')\n",
            dag("steady", &["a"])
        ),
    )
    .expect("write");
    u.ok(&["dags", "reserialize"]);
    assert_eq!(u.dag_ids(), ["steady"]);
    let shown = u.json(&["dags", "show", "steady", "--json"]);
    assert_eq!(
        shown["tasks"].as_array().map(Vec::len),
        Some(2),
        "last good version kept"
    );
    let errors = u.import_errors();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("half-edited")
    );
}

// Invariant: one DAG id, one file; a second file defining it is refused.
#[tokio::test]
async fn a_dag_id_defined_in_two_files_is_an_import_error() {
    let u = Updraft::new().await;
    u.write_dag("a_first.py", &dag("twin", &["a"]));
    let second = u.write_dag("b_second.py", &dag("twin", &["b"]));
    u.ok(&["dags", "reserialize"]);
    let errors = u.import_errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["filename"], second.to_string_lossy().as_ref());
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("a_first.py")
    );
    let shown = u.json(&["dags", "show", "twin", "--json"]);
    assert_eq!(shown["tasks"][0]["task_id"], "a");
    // Stored claims count too: parsing only the second file changes nothing.
    std::fs::write(&second, format!("# touched\n{}", dag("twin", &["b"]))).expect("write");
    u.ok(&["dags", "reserialize", "--only-changed"]);
    assert_eq!(
        u.json(&["dags", "show", "twin", "--json"])["tasks"][0]["task_id"],
        "a"
    );
}

// Invariant: packages from the configured virtualenv are importable by DAG
// files, and without it the import error names the missing module.
#[tokio::test]
async fn dag_files_import_from_the_configured_virtualenv() {
    let u = Updraft::new().await;
    let venv = u.home.path().join("venv");
    let status = std::process::Command::new("/usr/bin/python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .expect("python3 -m venv");
    assert!(status.success());
    let site = std::fs::read_dir(venv.join("lib"))
        .expect("venv lib")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .expect("site-packages");
    std::fs::write(site.join("team_helpers.py"), "OWNER = 'data-team'\n").expect("module");
    u.write_dag(
        "uses_venv.py",
        &format!("import team_helpers\n{}", dag("from_venv", &["a"])).replace(
            "schedule=None",
            "schedule=None, default_args={'owner': team_helpers.OWNER}",
        ),
    );
    u.ok(&["dags", "reserialize"]);
    let errors = u.import_errors();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("team_helpers")
    );

    let u = u.env(
        "UPDRAFT__DAG_PROCESSOR__PYTHON_VENV",
        venv.to_str().expect("utf8"),
    );
    u.ok(&["dags", "reserialize"]);
    assert!(u.import_errors().is_empty());
    assert_eq!(
        u.json(&["dags", "show", "from_venv", "--json"])["owner"],
        "data-team"
    );
}

// Invariant: the running processor notices a new file without being asked.
#[tokio::test]
async fn the_processor_loop_picks_up_new_files() {
    let u = Updraft::new()
        .await
        .env("UPDRAFT__DAG_PROCESSOR__REFRESH_INTERVAL", "0.2");
    let mut child = u
        .command(&["dag-processor"])
        .spawn()
        .expect("start dag-processor");
    u.write_dag("late.py", &dag("arrived_late", &["a"]));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = false;
    while Instant::now() < deadline {
        if u.dag_ids().contains(&"arrived_late".to_owned()) {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen,
        "the processor should have loaded the new file within 30 s"
    );
}

/// The `__parse-server` processes whose parent is `pid`.
fn parse_servers_of(pid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let dir = e.path();
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
            // The parent pid is the 2nd field after the parenthesised name.
            let ppid = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.split(' ').nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            ppid == Some(pid) && String::from_utf8_lossy(&cmdline).contains("__parse-server")
        })
        .count()
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} within 30 s");
}

// Invariant: idle parse servers are stopped after `idle_server_ttl`, and the
// next file to parse starts fresh ones.
#[tokio::test]
async fn idle_parse_servers_are_stopped_and_restarted_on_demand() {
    let u = Updraft::new()
        .await
        .env("UPDRAFT__DAG_PROCESSOR__REFRESH_INTERVAL", "0.2")
        .env("UPDRAFT__DAG_PROCESSOR__IDLE_SERVER_TTL", "3");
    u.write_dag("first.py", &dag("first", &["a"]));
    let mut child = u
        .command(&["dag-processor"])
        .spawn()
        .expect("start dag-processor");
    let pid = child.id();
    eventually("the first DAG loads", || {
        u.dag_ids().contains(&"first".to_owned())
    });
    eventually("the idle servers stop", || parse_servers_of(pid) == 0);
    u.write_dag("second.py", &dag("second", &["a"]));
    eventually("the second DAG loads on fresh servers", || {
        u.dag_ids().contains(&"second".to_owned())
    });
    let _ = child.kill();
    let _ = child.wait();
}

// Invariant: a task in a pool that does not exist loads with Airflow's
// "non-existent pool" warning, and its runs can still be created.
#[tokio::test]
async fn a_missing_pool_is_a_warning_not_a_failure() {
    let u = Updraft::new().await;
    u.write_dag(
        "pooled.py",
        &dag("pooled", &["a"]).replace(
            "EmptyOperator(task_id=\"a\")",
            "EmptyOperator(task_id=\"a\", pool=\"etl_pool\")",
        ),
    );
    u.ok(&["dags", "reserialize"]);
    assert!(u.import_errors().is_empty());
    let warnings = u.json(&["dags", "list-warnings", "-o", "json"]);
    let messages: Vec<&str> = warnings
        .as_array()
        .expect("array")
        .iter()
        .filter(|w| w["warning_type"] == "non-existent pool")
        .filter_map(|w| w["message"].as_str())
        .collect();
    assert_eq!(
        messages,
        ["Dag 'pooled' references non-existent pools: ['etl_pool']"]
    );
    u.ok(&["dags", "trigger", "pooled"]);
    let pool: String = sqlx::query_scalar("SELECT pool FROM task_instance WHERE dag_id = 'pooled'")
        .fetch_one(&u.db.pool)
        .await
        .expect("task instance created");
    assert_eq!(pool, "etl_pool");
}
