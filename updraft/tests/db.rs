//! `updraft db migrate` and the schema's own guarantees.

mod support;

use support::Updraft;

// Invariant: migrating twice is harmless and leaves one applied migration set.
#[tokio::test]
async fn migrate_is_idempotent() {
    let u = Updraft::new().await;
    let first = u.ok(&["db", "migrate"]);
    let second = u.ok(&["db", "migrate"]);
    assert_eq!(first, second);
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&u.db.pool)
        .await
        .expect("count");
    assert_eq!(applied as usize, updraft_core::db::MIGRATOR.iter().count());
    let pool_slots: i32 = sqlx::query_scalar("SELECT slots FROM pool WHERE pool = 'default_pool'")
        .fetch_one(&u.db.pool)
        .await
        .expect("default pool");
    assert_eq!(pool_slots, 128);
}

// Invariant: the schema refuses states Airflow does not have and orphans.
#[tokio::test]
async fn schema_enforces_states_and_references() {
    let u = Updraft::new().await;
    let pool = &u.db.pool;
    sqlx::query(
        "INSERT INTO dag (dag_id, fileloc, relative_fileloc, schedule) VALUES ('d', '/f.py', 'f.py', '{}')",
    )
    .execute(pool)
    .await
    .expect("dag");
    let bad_run_state = sqlx::query(
        "INSERT INTO dag_run (dag_id, run_id, run_type, state) VALUES ('d', 'r', 'manual', 'exploded')",
    )
    .execute(pool)
    .await;
    assert!(
        bad_run_state.is_err(),
        "a DAG run state outside Airflow's must be refused"
    );
    let orphan = sqlx::query(
        "INSERT INTO dag_run (dag_id, run_id, run_type) VALUES ('no_such_dag', 'r', 'manual')",
    )
    .execute(pool)
    .await;
    assert!(orphan.is_err(), "a run of an unknown DAG must be refused");
    sqlx::query("INSERT INTO dag_run (dag_id, run_id, run_type) VALUES ('d', 'r', 'manual')")
        .execute(pool)
        .await
        .expect("run");
    let bad_ti = sqlx::query(
        "INSERT INTO task_instance (id, dag_id, run_id, task_id, state) VALUES (gen_random_uuid(), 'd', 'r', 't', 'zombie')",
    )
    .execute(pool)
    .await;
    assert!(
        bad_ti.is_err(),
        "a task state outside Airflow's must be refused"
    );
    let two_active_backfills = sqlx::query(
        "INSERT INTO backfill (dag_id, from_date, to_date) VALUES
           ('d', '2026-01-01', '2026-01-02'), ('d', '2026-02-01', '2026-02-02')",
    )
    .execute(pool)
    .await;
    assert!(two_active_backfills.is_err(), "one active backfill per DAG");
    let bad_dag_id = sqlx::query(
        "INSERT INTO dag (dag_id, fileloc, relative_fileloc, schedule) VALUES ('has space', '/f.py', 'f.py', '{}')",
    )
    .execute(pool)
    .await;
    assert!(
        bad_dag_id.is_err(),
        "dag ids follow Airflow's character rule"
    );
}

// Invariant: Airflow's environment names configure Updraft, including the
// SQLAlchemy URL form, so an existing Airflow environment file just works.
#[tokio::test]
async fn airflow_environment_variables_are_honoured() {
    let u = Updraft::new().await;
    let sqlalchemy =
        u.db.url
            .replacen("postgres://", "postgresql+psycopg2://", 1);
    let out = u
        .command(&["db", "check"])
        .env_remove("UPDRAFT__DATABASE__URL")
        .env("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", &sqlalchemy)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = u
        .command(&["db", "check"])
        .env_remove("UPDRAFT__DATABASE__URL")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("UPDRAFT__DATABASE__URL"),
        "the error says how to configure: {err}"
    );
}
