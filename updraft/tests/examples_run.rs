//! The example DAGs in `dags/` run end to end under `updraft standalone`
//! (DAG processor, scheduler and workers in one process) against a real
//! Postgres: every DAG that needs no Kafka broker and no approver is
//! triggered for one logical date and must reach its expected state, the
//! cross-DAG examples after the DAGs they wait for. Kafka, HITL and the
//! article's DAG come with issues #4 and #5; the sensor examples wait for
//! wall-clock times and files by design (their sensors are tested in
//! worker_sensors.rs); `@continuous` DAGs never stop once unpaused.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::Updraft;

const LOGICAL_DATE: &str = "2024-03-01T00:00:00+00:00";
const RUN: &str = "e2e";

/// Not triggered here, and why (see the module comment).
fn skipped(dag_id: &str) -> bool {
    ["kafka", "hitl", "software_factory", "sensors", "continuous"]
        .iter()
        .any(|k| dag_id.contains(k))
}

/// Runs that end `failed`, each for a reason Airflow shares or a stated
/// limit, with the tasks that fail.
fn expected_failures() -> BTreeMap<&'static str, Vec<&'static str>> {
    BTreeMap::from([
        // Airflow 2.10's determine_kwargs refuses a positional argument
        // count reaching the keyword-only `discount`; Airflow 3 allows it.
        ("example_python_operators_v2", vec!["compute_invoice_total"]),
    ])
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("__pycache__") {
            continue;
        }
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

struct Standalone(Child);

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

async fn run_states(u: &Updraft, dag_ids: &[String]) -> BTreeMap<String, String> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT dag_id, state FROM dag_run WHERE run_id = $1 AND dag_id = ANY($2)")
            .bind(RUN)
            .bind(dag_ids)
            .fetch_all(&u.db.pool)
            .await
            .expect("run states");
    rows.into_iter().collect()
}

/// Triggers `dag_ids` and waits until each run has ended.
async fn run_all(u: &Updraft, dag_ids: &[String]) -> BTreeMap<String, String> {
    for d in dag_ids {
        u.ok(&["dags", "unpause", d]);
        u.ok(&[
            "dags",
            "trigger",
            d,
            "--run-id",
            RUN,
            "--logical-date",
            LOGICAL_DATE,
        ]);
    }
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let states = run_states(u, dag_ids).await;
        let done = states.values().all(|s| s == "success" || s == "failed");
        if (done && states.len() == dag_ids.len()) || Instant::now() > deadline {
            return states;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// Invariant: the example DAGs run unchanged to their expected end states.
#[tokio::test]
async fn example_dags_run_end_to_end_under_standalone() {
    let home = tempfile::tempdir().expect("tempdir");
    let dags = home.path().join("dags");
    copy_dir(&support::repo_root().join("dags"), &dags);
    let u = Updraft::with_folder(dags).await;
    // example_task_settings uses this pool, as a deployment would create it.
    u.ok(&["pools", "set", "warehouse_pool", "8", "warehouse loads"]);
    let log = u.home.path().join("standalone.log");
    let file = std::fs::File::create(&log).expect("log");
    let _standalone = Standalone(
        u.command(&["standalone"])
            .env("UPDRAFT__WORKER__CONCURRENCY", "16")
            .stdout(Stdio::from(file.try_clone().expect("clone")))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("standalone"),
    );
    let output = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut all: Vec<String> = Vec::new();
    while Instant::now() < deadline {
        all = sqlx::query_scalar("SELECT dag_id FROM dag WHERE is_active ORDER BY dag_id")
            .fetch_all(&u.db.pool)
            .await
            .expect("dags");
        if all.len() >= 49 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(all.len() >= 49, "{} DAGs loaded\n{}", all.len(), output());
    let (cross, first): (Vec<String>, Vec<String>) = all
        .into_iter()
        .filter(|d| !skipped(d))
        .partition(|d| d.contains("cross_dag"));
    assert_eq!(cross.len(), 2);

    let mut states = run_all(&u, &first).await;
    // The cross-DAG examples wait for example_basic and example_task_groups
    // runs of the same logical date, which have ended now.
    states.extend(run_all(&u, &cross).await);

    let failures = expected_failures();
    let mut wrong = Vec::new();
    for d in first.iter().chain(&cross) {
        let want = if failures.contains_key(d.as_str()) {
            "failed"
        } else {
            "success"
        };
        let got = states.get(d).map_or("missing", String::as_str);
        if got != want {
            wrong.push(format!("{d}: {got}, expected {want}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{}", output());
    for (dag_id, tasks) in failures {
        let failed: Vec<String> = sqlx::query_scalar(
            "SELECT task_id FROM task_instance WHERE dag_id = $1 AND run_id = $2
                AND state = 'failed' ORDER BY task_id",
        )
        .bind(dag_id)
        .bind(RUN)
        .fetch_all(&u.db.pool)
        .await
        .expect("failed tasks");
        assert_eq!(failed, tasks, "{dag_id}");
    }
    // The cross-DAG examples triggered example_taskflow runs of their own.
    let triggered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM dag_run WHERE dag_id LIKE 'example_taskflow_v%' AND run_id <> $1
            AND run_type = 'manual'",
    )
    .bind(RUN)
    .fetch_one(&u.db.pool)
    .await
    .expect("triggered runs");
    assert_eq!(triggered, 2);
}
