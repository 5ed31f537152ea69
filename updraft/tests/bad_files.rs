//! Every kind of broken DAG file becomes an import error for that file only,
//! with what went wrong and where, while the other DAGs still load.

mod support;

use support::{Updraft, repo_root};

const GOOD: &str = r#"
from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="healthy", schedule=None, start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"#;

struct Expect {
    kind: &'static str,
    line: Option<i64>,
    message_has: &'static [&'static str],
}

/// Loads one fixture beside a healthy DAG (and a second healthy file after
/// it in name order, so a crash cannot hide behind "last file").
async fn check(fixture: &str, expect: Expect) {
    let u = Updraft::new()
        .await
        .env("UPDRAFT__DAG_PROCESSOR__PARSE_TIMEOUT", "3")
        .env("UPDRAFT__DAG_PROCESSOR__PARSING_PROCESSES", "1");
    let src = repo_root()
        .join("updraft/tests/fixtures/bad_dags")
        .join(fixture);
    let text = std::fs::read_to_string(&src).expect("fixture");
    let bad = u.write_dag(fixture, &text);
    u.write_dag("a_healthy.py", GOOD);
    u.write_dag(
        "z_healthy.py",
        &GOOD.replace("\"healthy\"", "\"healthy_too\""),
    );

    let started = std::time::Instant::now();
    let out = u.ok(&["dags", "reserialize"]);
    assert!(out.contains("2 DAGs"), "{out}");
    assert!(
        started.elapsed().as_secs() < 30,
        "a bad file must not stall the others"
    );

    let errors = u.import_errors();
    assert_eq!(errors.len(), 1, "exactly the bad file fails: {errors:#?}");
    let e = &errors[0];
    assert_eq!(e["filename"], bad.to_string_lossy().as_ref());
    assert_eq!(e["kind"], expect.kind, "{e:#}");
    if let Some(line) = expect.line {
        assert_eq!(e["line"], line, "the line in the DAG file: {e:#}");
    }
    let message = e["message"].as_str().unwrap_or_default();
    for part in expect.message_has {
        assert!(
            message.contains(part),
            "message should mention {part:?}: {message}"
        );
    }
    assert_eq!(u.dag_ids(), ["healthy", "healthy_too"]);

    // The error also shows through the table view, file and line first.
    let table = u.run(&["dags", "list-import-errors"]);
    assert_eq!(
        table.status.code(),
        Some(1),
        "list-import-errors exits 1 when there are errors"
    );
    assert!(String::from_utf8_lossy(&table.stdout).contains(fixture));
}

macro_rules! bad_file {
    ($name:ident, $file:literal, $kind:literal, $line:expr, $($part:literal),*) => {
        #[tokio::test]
        async fn $name() {
            check($file, Expect { kind: $kind, line: $line, message_has: &[$($part),*] }).await;
        }
    };
}

bad_file!(
    syntax_error,
    "syntax_error.py",
    "exception",
    Some(11),
    "SyntaxError"
);
bad_file!(
    exception_at_top_level,
    "top_level_exception.py",
    "exception",
    Some(11),
    "KeyError"
);
bad_file!(sys_exit, "sys_exit.py", "exit", Some(12), "3");
bad_file!(os_exit, "os_exit.py", "exit", None, "4");
bad_file!(segfault, "segfault.py", "crashed", None, "SIGSEGV");
bad_file!(infinite_loop, "infinite_loop.py", "timeout", None, "3");
bad_file!(
    megabytes_of_output,
    "huge_stdout.py",
    "too_much_output",
    None,
    "stdout"
);
bad_file!(cycle, "cycle.py", "cycle", None, "cycle");
bad_file!(
    duplicate_task_id,
    "duplicate_task_id.py",
    "duplicate_task_id",
    Some(11),
    "extract"
);
bad_file!(
    unknown_operator_argument,
    "unknown_operator_kwarg.py",
    "exception",
    Some(9),
    "foo"
);
bad_file!(
    unsupported_module,
    "unsupported_provider.py",
    "import_unsupported",
    Some(7),
    "airflow.providers.google.cloud.operators.bigquery",
    "Supported"
);
