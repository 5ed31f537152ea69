//! Human in the loop end to end: the real `scheduler`, `worker` and
//! `webserver` processes, answers over loopback HTTP (`support::http`) and through `core::store::hitl`. DAGs:
//! `fixtures/hitl/hitl.py`.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::browser::Server;
use support::http::{Reply, Session, http};
use support::{Running, Updraft};
use updraft_core::store::hitl::{self, Answer, Answered};
use uuid::Uuid;

const DAGS: &str = include_str!("fixtures/hitl/hitl.py");

/// POSTs an answer to `ti`'s request (`fields` after the CSRF token).
fn answer_as(s: &Session, ti: Uuid, fields: &str) -> Reply {
    s.post(&format!("/required-actions/{ti}"), fields)
}

async fn setup(dags: &[&str], users: &[(&str, &str)]) -> Updraft {
    let u = Updraft::new().await;
    u.write_dag("hitl.py", DAGS);
    u.ok(&["dags", "reserialize"]);
    for d in dags {
        u.ok(&["dags", "unpause", d]);
    }
    for (name, role) in users {
        u.ok(&[
            "users",
            "create",
            "-u",
            name,
            "-p",
            "pw-secret-1",
            "-r",
            role,
        ]);
    }
    u
}

fn trigger(u: &Updraft, dag: &str, run: &str) {
    u.ok(&["dags", "trigger", dag, "--run-id", run]);
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Ti {
    id: Uuid,
    state: Option<String>,
    try_number: i32,
}

async fn ti(u: &Updraft, dag: &str, run: &str, task: &str) -> Ti {
    sqlx::query_as(
        "SELECT id, state, try_number FROM task_instance
          WHERE dag_id = $1 AND run_id = $2 AND task_id = $3",
    )
    .bind(dag)
    .bind(run)
    .bind(task)
    .fetch_one(&u.db.pool)
    .await
    .expect("task instance")
}

/// Polls until `task` is in one of `states`, or 60 s pass.
async fn wait_state(u: &Updraft, dag: &str, run: &str, task: &str, states: &[&str]) -> Ti {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = ti(u, dag, run, task).await;
        if t.state.as_deref().is_some_and(|s| states.contains(&s)) || Instant::now() > deadline {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn xcom(u: &Updraft, ti: Uuid) -> Value {
    sqlx::query_scalar("SELECT value FROM xcom WHERE ti_id = $1 AND key = 'return_value'")
        .bind(ti)
        .fetch_one(&u.db.pool)
        .await
        .expect("return_value")
}

async fn detail(u: &Updraft, ti: Uuid) -> hitl::Detail {
    let mut c = u.db.pool.acquire().await.expect("conn");
    hitl::get(&mut c, ti)
        .await
        .expect("get")
        .expect("a request")
}

async fn answer(u: &Updraft, ti: Uuid, chosen: &[&str], params: Value) -> Answered {
    let mut tx = u.db.pool.begin().await.expect("tx");
    let a = Answer {
        chosen_options: chosen.iter().map(|s| (*s).to_owned()).collect(),
        params_input: params,
        responded_by: json!({"id": "t", "name": "test"}),
    };
    let out = hitl::answer(&mut tx, ti, &a).await.expect("answer");
    tx.commit().await.expect("commit");
    out
}

// Invariant: an approval waits in `deferred` holding no worker slot; Viewer
// and User are refused (403) and change nothing, as is a wrong CSRF token;
// Admin's approval is taken once (a second answer is 409, audited once) and
// the same try resumes and succeeds, so the downstream task runs.
#[tokio::test]
async fn approval_over_http_runs_the_downstream_task() {
    let u = setup(
        &["approve"],
        &[("admin", "Admin"), ("viewer", "Viewer"), ("user", "User")],
    )
    .await;
    trigger(&u, "approve", "r");
    let _procs = Running::start(&u, 1, 30);
    let web = Server::start(u.command(&["webserver", "--port", "0"]));

    let gate = wait_state(
        &u,
        "approve",
        "r",
        "gate",
        &["deferred", "failed", "success"],
    )
    .await;
    assert_eq!(gate.state.as_deref(), Some("deferred"));
    let other = wait_state(&u, "approve", "r", "other", &["success", "failed"]).await;
    assert_eq!(
        other.state.as_deref(),
        Some("success"),
        "the one slot is free"
    );
    let d = detail(&u, gate.id).await;
    assert_eq!(d.subject, "Release 1.2?");
    assert_eq!(d.body.as_deref(), Some("Ship **1.2**"));
    assert_eq!(d.options, ["Approve", "Reject"]);

    let admin = Session::new(web.port(), "admin", "pw-secret-1");
    let list = admin.get("/required-actions");
    assert!(
        list.body.contains(r#"data-testid="required-action""#),
        "{}",
        list.body
    );
    assert!(list.body.contains(&gate.id.to_string()), "{}", list.body);
    assert_eq!(admin.get("/required-actions/count").body, "1");
    let form = admin.get(&format!("/required-actions/{}", gate.id));
    assert!(
        form.body.contains(r#"data-option="Approve""#),
        "{}",
        form.body
    );

    for who in ["viewer", "user"] {
        let s = Session::new(web.port(), who, "pw-secret-1");
        let r = answer_as(&s, gate.id, "chosen=Approve");
        assert_eq!(r.status, 403, "{who}: {}", r.body);
    }
    let forged = http(
        web.port(),
        "POST",
        &format!("/required-actions/{}", gate.id),
        &admin.cookie,
        "csrf_token=forged&chosen=Approve",
    );
    assert_eq!(forged.status, 403);
    assert!(
        detail(&u, gate.id).await.responded_at.is_none(),
        "refusals change nothing"
    );
    assert_eq!(
        ti(&u, "approve", "r", "gate").await.state.as_deref(),
        Some("deferred")
    );

    assert_eq!(answer_as(&admin, gate.id, "chosen=Approve").status, 303);
    let again = answer_as(&admin, gate.id, "chosen=Reject");
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already answered"), "{}", again.body);

    let deploy = wait_state(
        &u,
        "approve",
        "r",
        "deploy",
        &["success", "failed", "skipped"],
    )
    .await;
    assert_eq!(deploy.state.as_deref(), Some("success"));
    let gate = ti(&u, "approve", "r", "gate").await;
    assert_eq!(
        (gate.state.as_deref(), gate.try_number),
        (Some("success"), 1)
    );
    let x = xcom(&u, gate.id).await;
    assert_eq!(x["chosen_options"], json!(["Approve"]));
    assert_eq!(x["responded_by_user"]["name"], "admin");
    assert!(x["responded_at"].is_string(), "{x}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE event = 'hitl_answered' AND owner = 'admin'",
    )
    .fetch_one(&u.db.pool)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
    assert_eq!(admin.get("/required-actions/count").body, "0");
}

// Invariant: Op may answer unassigned requests; Reject with fail_on_reject
// fails the approval (downstream upstream_failed); plain Reject succeeds and
// skips the direct downstream; a branch follows the mapped option; an entry
// returns its params; answers are write-once and checked against the options.
#[tokio::test]
async fn reject_branch_and_entry() {
    let u = setup(&["approve", "strict", "branchy", "entry"], &[("op", "Op")]).await;
    for d in ["approve", "strict", "branchy", "entry"] {
        trigger(&u, d, "r");
    }
    let _procs = Running::start(&u, 2, 30);
    let web = Server::start(u.command(&["webserver", "--port", "0"]));
    let op = Session::new(web.port(), "op", "pw-secret-1");

    let strict = wait_state(&u, "strict", "r", "gate", &["deferred"]).await;
    assert_eq!(answer_as(&op, strict.id, "chosen=Reject").status, 303);
    let strict = wait_state(&u, "strict", "r", "gate", &["failed", "success"]).await;
    assert_eq!(strict.state.as_deref(), Some("failed"));
    let deploy = wait_state(&u, "strict", "r", "deploy", &["upstream_failed", "success"]).await;
    assert_eq!(deploy.state.as_deref(), Some("upstream_failed"));

    let gate = wait_state(&u, "approve", "r", "gate", &["deferred"]).await;
    assert_eq!(
        answer(&u, gate.id, &["Maybe"], json!({})).await,
        Answered::Invalid(r#""Maybe" is not one of the options ["Approve", "Reject"]."#.into())
    );
    assert_eq!(
        answer(&u, gate.id, &["Approve", "Reject"], json!({})).await,
        Answered::Invalid("Only one option may be chosen.".into())
    );
    assert_eq!(
        answer(&u, gate.id, &["Reject"], json!({})).await,
        Answered::Applied
    );
    assert_eq!(
        answer(&u, gate.id, &["Approve"], json!({})).await,
        Answered::AlreadyAnswered
    );
    let deploy = wait_state(&u, "approve", "r", "deploy", &["skipped", "success"]).await;
    assert_eq!(deploy.state.as_deref(), Some("skipped"));
    assert_eq!(
        ti(&u, "approve", "r", "gate").await.state.as_deref(),
        Some("success")
    );

    let choose = wait_state(&u, "branchy", "r", "choose", &["deferred"]).await;
    assert_eq!(
        answer(&u, choose.id, &["Full"], json!({})).await,
        Answered::Applied
    );
    let full = wait_state(&u, "branchy", "r", "full", &["success", "skipped"]).await;
    assert_eq!(full.state.as_deref(), Some("success"));
    let canary = wait_state(&u, "branchy", "r", "canary", &["success", "skipped"]).await;
    assert_eq!(canary.state.as_deref(), Some("skipped"));

    let notes = wait_state(&u, "entry", "r", "notes", &["deferred"]).await;
    assert_eq!(detail(&u, notes.id).await.options, ["OK"]);
    let r = answer_as(&op, notes.id, "chosen=OK&param.ticket=42");
    assert_eq!(r.status, 303, "{}", r.body);
    let notes = wait_state(&u, "entry", "r", "notes", &["success", "failed"]).await;
    assert_eq!(notes.state.as_deref(), Some("success"));
    assert_eq!(
        xcom(&u, notes.id).await["params_input"],
        json!({"ticket": 42})
    );
}

// Invariant: with assigned users only they answer (Admin is refused);
// several options and typed params (checked against their schema) come back.
#[tokio::test]
async fn only_assigned_users_answer() {
    let u = setup(&["assigned"], &[("admin", "Admin"), ("alice", "User")]).await;
    trigger(&u, "assigned", "r");
    let _procs = Running::start(&u, 1, 30);
    let web = Server::start(u.command(&["webserver", "--port", "0"]));
    let pick = wait_state(&u, "assigned", "r", "pick", &["deferred"]).await;

    let admin = Session::new(web.port(), "admin", "pw-secret-1");
    assert_eq!(answer_as(&admin, pick.id, "chosen=eu").status, 403);
    let alice = Session::new(web.port(), "alice", "pw-secret-1");
    let form = alice.get(&format!("/required-actions/{}", pick.id));
    assert!(form.body.contains(r#"type="checkbox""#), "{}", form.body);
    let bad = answer_as(&alice, pick.id, "chosen=eu&param.rate=lots");
    assert_eq!(bad.status, 422, "{}", bad.body);
    let r = answer_as(
        &alice,
        pick.id,
        "chosen=eu&chosen=us&param.rate=0.5&param.window=night",
    );
    assert_eq!(r.status, 303, "{}", r.body);

    let pick = wait_state(&u, "assigned", "r", "pick", &["success", "failed"]).await;
    assert_eq!(pick.state.as_deref(), Some("success"));
    let x = xcom(&u, pick.id).await;
    assert_eq!(x["chosen_options"], json!(["eu", "us"]));
    assert_eq!(x["params_input"], json!({"rate": 0.5, "window": "night"}));
    assert_eq!(x["responded_by_user"]["name"], "alice");
}

// Invariant: at the response timeout the defaults are the answer (nobody
// responded) and the task succeeds; without defaults it fails.
#[tokio::test]
async fn timeout_takes_the_defaults_or_fails() {
    let u = setup(&["timeouts"], &[]).await;
    trigger(&u, "timeouts", "r");
    let _procs = Running::start(&u, 2, 30);

    let with = wait_state(&u, "timeouts", "r", "with_default", &["success", "failed"]).await;
    assert_eq!(
        (with.state.as_deref(), with.try_number),
        (Some("success"), 1)
    );
    let x = xcom(&u, with.id).await;
    assert_eq!(x["chosen_options"], json!(["Approve"]));
    assert_eq!(x["responded_by_user"], Value::Null);
    assert!(detail(&u, with.id).await.timed_out);

    let without = wait_state(&u, "timeouts", "r", "no_default", &["success", "failed"]).await;
    assert_eq!(without.state.as_deref(), Some("failed"));
    let d = detail(&u, without.id).await;
    assert!(d.timed_out && d.responded_at.is_none(), "{d:?}");
    assert_eq!(
        answer(&u, without.id, &["Approve"], json!({})).await,
        Answered::AlreadyAnswered
    );
}
