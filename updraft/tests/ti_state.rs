//! Task-instance state transitions (`core::store::ti_state`) against a real
//! PostgreSQL: guards, refusals, claiming, caps, leases and fencing.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use sqlx::types::Uuid;
use sqlx::{Connection, PgConnection, PgPool};
use updraft_core::model::state::TaskInstanceState as S;
use updraft_core::store::ti_state::Transition::{self, Applied, NotFound};
use updraft_core::store::ti_state::{self as tis, Fence, FinishOutcome, MarkAs, TiRow};
use updraft_testkit::TestDb;

const LEASE: Duration = Duration::from_secs(60);
const DELAY: Duration = Duration::from_secs(300);

/// A task instance to insert (run `r` of its DAG).
#[derive(Clone, Copy)]
struct Ti {
    state: Option<&'static str>,
    pool: &'static str,
    slots: i32,
    prio: i32,
    tries: i32,
    retry_at: Option<DateTime<Utc>>,
}

impl Ti {
    fn at(state: &'static str) -> Self {
        Self {
            state: Some(state),
            ..Self::none()
        }
    }
    fn none() -> Self {
        Self {
            state: None,
            pool: "default_pool",
            slots: 1,
            prio: 1,
            tries: 0,
            retry_at: None,
        }
    }
    fn pool(self, pool: &'static str) -> Self {
        Self { pool, ..self }
    }
    fn prio(self, prio: i32) -> Self {
        Self { prio, ..self }
    }
    fn tries(self, tries: i32) -> Self {
        Self { tries, ..self }
    }
    fn retry_at(self, at: DateTime<Utc>) -> Self {
        Self {
            retry_at: Some(at),
            ..self
        }
    }
}

/// A database with DAG `d` (one running run `r`) and a connection of the test's own.
struct Fx {
    db: TestDb,
    c: PgConnection,
}

impl Fx {
    async fn new() -> Self {
        let db = TestDb::new().await.expect("db");
        let c = PgConnection::connect(&db.url).await.expect("connect");
        let fx = Self { db, c };
        fx.dag("d", None).await;
        fx
    }

    fn p(&self) -> &PgPool {
        &self.db.pool
    }

    async fn sql(&self, sql: &'static str) {
        sqlx::query(sql).execute(self.p()).await.expect(sql);
    }

    async fn dag(&self, dag_id: &str, max_active_tasks: Option<i32>) {
        sqlx::query(
            "INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, schedule, max_active_tasks)
             VALUES ($1, 'f.py', 'f.py', false, '{}', $2)",
        )
        .bind(dag_id)
        .bind(max_active_tasks)
        .execute(self.p())
        .await
        .expect("dag");
        sqlx::query("INSERT INTO dag_run (dag_id, run_id, run_type, state) VALUES ($1, 'r', 'manual', 'running')")
            .bind(dag_id)
            .execute(self.p())
            .await
            .expect("dag run");
    }

    async fn ti(&self, dag_id: &str, task_id: &str, t: Ti) -> Uuid {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO task_instance (id, dag_id, run_id, task_id, state, pool, pool_slots,
                                        priority_weight, max_tries, next_retry_at, try_number)
             VALUES ($1, $2, 'r', $3, $4, $5, $6, $7, $8, $9,
                     -- scheduled and later states already count their try
                     CASE WHEN $4 IN ('scheduled', 'queued', 'running') THEN 1 ELSE 0 END)",
        )
        .bind(id)
        .bind(dag_id)
        .bind(task_id)
        .bind(t.state)
        .bind(t.pool)
        .bind(t.slots)
        .bind(t.prio)
        .bind(t.tries)
        .bind(t.retry_at)
        .execute(self.p())
        .await
        .expect("task instance");
        id
    }

    async fn worker(&self, hostname: &str) -> Uuid {
        let id = Uuid::new_v4();
        sqlx::query("INSERT INTO worker (id, hostname, pid, concurrency) VALUES ($1, $2, 1, 4)")
            .bind(id)
            .bind(hostname)
            .execute(self.p())
            .await
            .expect("worker");
        id
    }

    async fn state(&self, id: Uuid) -> Option<String> {
        let q = sqlx::query_scalar("SELECT state FROM task_instance WHERE id = $1");
        q.bind(id).fetch_one(self.p()).await.expect("state")
    }

    async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.p())
            .await
            .expect(sql)
    }

    /// Queues everything scheduled and claims it for `worker_id`.
    async fn run_all(&mut self, worker_id: Uuid) -> Vec<TiRow> {
        tis::queue_scheduled(&mut self.c, 100, Utc::now())
            .await
            .expect("queue");
        tis::claim(&mut self.c, worker_id, &queues(), 100, LEASE)
            .await
            .expect("claim")
    }

    /// Runs the only scheduled TI on `worker_id`: its fence.
    async fn run_one(&mut self, worker_id: Uuid) -> Fence {
        let claimed = self.run_all(worker_id).await;
        assert_eq!(claimed.len(), 1);
        claimed[0].fence().expect("fence")
    }
}

fn queues() -> Vec<String> {
    vec!["default".to_owned()]
}

fn refused<T>(state: S) -> Transition<T> {
    Transition::Refused {
        current_state: Some(state),
    }
}

// Invariant: only none and due up_for_retry/up_for_reschedule become scheduled; others are refused with their state.
#[tokio::test]
async fn set_scheduled_guards_its_sources() {
    let mut fx = Fx::new().await;
    let (past, future) = (
        Utc::now() - TimeDelta::minutes(1),
        Utc::now() + TimeDelta::hours(1),
    );
    let none = fx.ti("d", "none", Ti::none()).await;
    let retry_due = fx
        .ti("d", "retry_due", Ti::at("up_for_retry").retry_at(past))
        .await;
    let retry_later = fx
        .ti("d", "retry_later", Ti::at("up_for_retry").retry_at(future))
        .await;
    let resched = fx
        .ti("d", "resched", Ti::at("up_for_reschedule").retry_at(past))
        .await;
    let done = fx.ti("d", "done", Ti::at("success")).await;
    let missing = Uuid::new_v4();
    let ids = [none, retry_due, retry_later, resched, done, missing];
    let out = tis::set_scheduled(&mut fx.c, &ids, Utc::now())
        .await
        .expect("set");
    let expected = vec![
        (none, Applied(())),
        (retry_due, Applied(())),
        (retry_later, refused(S::UpForRetry)),
        (resched, Applied(())),
        (done, refused(S::Success)),
        (missing, NotFound),
    ];
    assert_eq!(out, expected);
    assert_eq!(fx.state(retry_due).await.as_deref(), Some("scheduled"));
    assert_eq!(fx.state(retry_later).await.as_deref(), Some("up_for_retry"));
}

// Invariant: skipped/upstream_failed come only from none/scheduled and carry an end_date.
#[tokio::test]
async fn skip_and_upstream_failed_guard_their_sources() {
    let mut fx = Fx::new().await;
    let a = fx.ti("d", "a", Ti::none()).await;
    let b = fx.ti("d", "b", Ti::at("scheduled")).await;
    let q = fx.ti("d", "q", Ti::at("queued")).await;
    let out = tis::set_skipped(&mut fx.c, &[a, q], Utc::now())
        .await
        .expect("skip");
    assert_eq!(out, vec![(a, Applied(())), (q, refused(S::Queued))]);
    let out = tis::set_upstream_failed(&mut fx.c, &[b, a], Utc::now())
        .await
        .expect("uf");
    assert_eq!(out, vec![(b, Applied(())), (a, refused(S::Skipped))]);
    let ended = fx
        .count("SELECT count(*) FROM task_instance WHERE end_date IS NOT NULL")
        .await;
    assert_eq!(ended, 2);
    assert_eq!(fx.state(b).await.as_deref(), Some("upstream_failed"));
}

// Invariant: queueing takes the highest priorities that fit the pool, and nothing that does not.
#[tokio::test]
async fn queue_follows_priority_within_pool_slots() {
    let mut fx = Fx::new().await;
    fx.sql("INSERT INTO pool (pool, slots) VALUES ('two', 2)")
        .await;
    let s = Ti::at("scheduled").pool("two");
    let big = fx
        .ti(
            "d",
            "big",
            Ti {
                slots: 3,
                ..s.prio(20)
            },
        )
        .await;
    let hi = fx.ti("d", "hi", s.prio(10)).await;
    let mid = fx.ti("d", "mid", s.prio(5)).await;
    let low = fx.ti("d", "low", s.prio(1)).await;
    let unscheduled = fx
        .ti(
            "d",
            "none",
            Ti {
                state: None,
                ..s.prio(99)
            },
        )
        .await;
    let queued = tis::queue_scheduled(&mut fx.c, 10, Utc::now())
        .await
        .expect("queue");
    let ids: Vec<Uuid> = queued.iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![hi, mid]);
    assert!(
        queued
            .iter()
            .all(|t| t.state == Some(S::Queued) && t.queued_at.is_some())
    );
    for id in [big, low] {
        assert_eq!(fx.state(id).await.as_deref(), Some("scheduled"));
    }
    assert_eq!(fx.state(unscheduled).await, None);
    let again = tis::queue_scheduled(&mut fx.c, 10, Utc::now())
        .await
        .expect("queue");
    assert!(again.is_empty(), "the pool is full");
}

// Invariant: concurrent queueing never exceeds pool slots or max_active_tasks, and fills them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_queueing_respects_pool_and_dag_caps() {
    let fx = Fx::new().await;
    fx.sql("INSERT INTO pool (pool, slots) VALUES ('five', 5)")
        .await;
    fx.dag("a", Some(2)).await;
    fx.dag("c", Some(3)).await;
    for i in 0..10 {
        let s = Ti::at("scheduled").prio(10 - i);
        fx.ti("a", &format!("t{i}"), s.pool("five")).await;
        fx.ti("d", &format!("t{i}"), s.pool("five")).await;
        fx.ti("c", &format!("t{i}"), s).await;
    }
    let mut handles = Vec::new();
    for _ in 0..8 {
        let mut c = PgConnection::connect(&fx.db.url).await.expect("connect");
        handles.push(tokio::spawn(async move {
            for _ in 0..10 {
                tis::queue_scheduled(&mut c, 1, Utc::now())
                    .await
                    .expect("queue");
            }
        }));
    }
    for h in handles {
        h.await.expect("join");
    }
    let q = "SELECT count(*) FILTER (WHERE pool = 'five'), count(*) FILTER (WHERE dag_id = 'a'),
                    count(*) FILTER (WHERE dag_id = 'd'), count(*) FILTER (WHERE dag_id = 'c')
               FROM task_instance WHERE state = 'queued'";
    let counts: (i64, i64, i64, i64) = sqlx::query_as(q).fetch_one(fx.p()).await.expect("counts");
    assert_eq!(counts, (5, 2, 3, 3));
}

// Invariant: concurrent claimers never claim the same TI, and together claim all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_are_disjoint_and_complete() {
    let fx = Fx::new().await;
    let mut all = HashSet::new();
    for i in 0..60 {
        all.insert(
            fx.ti("d", &format!("t{i}"), Ti::at("queued").prio(i % 7))
                .await,
        );
    }
    let mut handles = Vec::new();
    for w in 0..6 {
        let worker_id = fx.worker(&format!("host{w}")).await;
        let mut c = PgConnection::connect(&fx.db.url).await.expect("connect");
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = tis::claim(&mut c, worker_id, &queues(), 2, LEASE)
                    .await
                    .expect("claim");
                if got.is_empty() {
                    return mine;
                }
                assert!(
                    got.iter()
                        .all(|t| t.worker_id == Some(worker_id) && t.try_number == 1)
                );
                mine.extend(got.into_iter().map(|t| t.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    for h in handles {
        for id in h.await.expect("join") {
            assert!(seen.insert(id), "claimed twice: {id}");
        }
    }
    assert_eq!(seen, all);
    let mut c = PgConnection::connect(&fx.db.url).await.expect("connect");
    let stray = tis::claim(&mut c, Uuid::new_v4(), &queues(), 1, LEASE).await;
    assert!(stray.is_err(), "an unregistered worker cannot claim");
}

// Invariant: only the owning worker's current try can extend the lease.
#[tokio::test]
async fn heartbeat_is_fenced() {
    let mut fx = Fx::new().await;
    fx.ti("d", "t", Ti::at("scheduled")).await;
    let (w, other) = (fx.worker("w").await, fx.worker("other").await);
    let claimed = fx.run_all(w).await;
    let fence = claimed[0].fence().expect("fence");
    let before = claimed[0].lease_expires_at;
    let hour = Duration::from_secs(3600);
    for bad in [
        Fence {
            worker_id: other,
            ..fence
        },
        Fence {
            try_number: 2,
            ..fence
        },
    ] {
        let out = tis::heartbeat(&mut fx.c, bad, hour).await.expect("hb");
        assert_eq!(out, refused(S::Running));
    }
    let q = sqlx::query_scalar("SELECT lease_expires_at FROM task_instance");
    let lease: Option<DateTime<Utc>> = q.fetch_one(fx.p()).await.expect("lease");
    assert_eq!(lease, before, "refused heartbeats leave the lease alone");
    let out = tis::heartbeat(&mut fx.c, fence, hour).await.expect("hb");
    assert!(matches!(out, Applied(at) if Some(at) > before));
}

// Invariant: a worker whose lease was reaped cannot finish the try another worker now owns.
#[tokio::test]
async fn stale_worker_finish_is_fenced_out() {
    let mut fx = Fx::new().await;
    let id = fx.ti("d", "t", Ti::at("scheduled").tries(1)).await;
    let (a, b) = (fx.worker("a").await, fx.worker("b").await);
    let stale = fx.run_one(a).await;
    let later = Utc::now() + TimeDelta::seconds(120);
    let reaped = tis::reap_expired_leases(&mut fx.c, later, DELAY, 100)
        .await
        .expect("reap");
    assert_eq!(reaped.len(), 1);
    let retry_at = reaped[0].next_retry_at.expect("retry time");
    let out = tis::set_scheduled(&mut fx.c, &[id], retry_at)
        .await
        .expect("schedule");
    assert_eq!(out, vec![(id, Applied(()))]);
    let fresh = fx.run_one(b).await;
    assert_eq!(fresh.try_number, 2);
    let out = tis::finish(&mut fx.c, stale, FinishOutcome::Success)
        .await
        .expect("finish");
    assert_eq!(out, refused(S::Running));
    let out = tis::heartbeat(&mut fx.c, stale, LEASE).await.expect("hb");
    assert_eq!(out, refused(S::Running));
    let done = tis::finish(&mut fx.c, fresh, FinishOutcome::Success)
        .await
        .expect("finish");
    assert!(matches!(&done, Applied(t) if t.state == Some(S::Success) && t.duration.is_some()));
    let q = "SELECT try_number, state FROM task_instance_history ORDER BY try_number";
    let history: Vec<(i32, String)> = sqlx::query_as(q).fetch_all(fx.p()).await.expect("history");
    assert_eq!(
        history,
        vec![(1, "up_for_retry".into()), (2, "success".into())]
    );
    let again = tis::finish(&mut fx.c, fresh, FinishOutcome::Failed)
        .await
        .expect("finish");
    assert_eq!(again, refused(S::Success));
}

// Invariant: reaping retries while tries are left, fails otherwise, and leaves live leases alone.
#[tokio::test]
async fn reaping_respects_retries_and_live_leases() {
    let mut fx = Fx::new().await;
    let retry = fx.ti("d", "retry", Ti::at("scheduled").tries(1)).await;
    let fail = fx.ti("d", "fail", Ti::at("scheduled")).await;
    let w = fx.worker("w").await;
    fx.run_all(w).await;
    let none = tis::reap_expired_leases(&mut fx.c, Utc::now(), DELAY, 100)
        .await
        .expect("reap");
    assert!(none.is_empty(), "leases still live");
    let later = (Utc::now() + TimeDelta::seconds(120)).trunc_subsecs(6);
    let reaped = tis::reap_expired_leases(&mut fx.c, later, DELAY, 100)
        .await
        .expect("reap");
    let by_id = |id| reaped.iter().find(|t| t.id == id).expect("reaped");
    assert_eq!(by_id(retry).state, Some(S::UpForRetry));
    assert_eq!(
        by_id(retry).next_retry_at,
        Some(later + TimeDelta::seconds(300))
    );
    assert_eq!(by_id(fail).state, Some(S::Failed));
    assert_eq!(by_id(fail).next_retry_at, None);
    assert_eq!(
        fx.count("SELECT count(*) FROM task_instance_history").await,
        2
    );
}

// Invariant: a worker's up_for_retry without tries left ends failed; an unknown TI is reported.
#[tokio::test]
async fn finish_without_tries_left_fails() {
    let mut fx = Fx::new().await;
    let id = fx.ti("d", "t", Ti::at("scheduled")).await;
    let w = fx.worker("w").await;
    let fence = fx.run_one(w).await;
    let outcome = FinishOutcome::UpForRetry {
        next_retry_at: Utc::now(),
    };
    let out = tis::finish(&mut fx.c, fence, outcome)
        .await
        .expect("finish");
    assert!(matches!(&out, Applied(t) if t.state == Some(S::Failed) && t.next_retry_at.is_none()));
    assert_eq!(fx.state(id).await.as_deref(), Some("failed"));
    let never = Fence {
        ti_id: Uuid::new_v4(),
        ..fence
    };
    let out = tis::finish(&mut fx.c, never, FinishOutcome::Success)
        .await
        .expect("finish");
    assert_eq!(out, NotFound);
}

// Invariant: a manual mark changes state with its audit row, refuses a no-op, and fences out the worker.
#[tokio::test]
async fn mark_writes_audit_and_fences_worker() {
    let mut fx = Fx::new().await;
    let id = fx.ti("d", "t", Ti::at("scheduled")).await;
    let w = fx.worker("w").await;
    let fence = fx.run_one(w).await;
    let out = tis::mark(&mut fx.c, id, MarkAs::Failed, "alice")
        .await
        .expect("mark");
    assert!(matches!(&out, Applied(t) if t.state == Some(S::Failed)));
    let again = tis::mark(&mut fx.c, id, MarkAs::Failed, "alice")
        .await
        .expect("mark");
    assert_eq!(again, refused(S::Failed));
    let gone = tis::mark(&mut fx.c, Uuid::new_v4(), MarkAs::Success, "al")
        .await
        .expect("mark");
    assert_eq!(gone, NotFound);
    let q = "SELECT event, owner, extra FROM audit_log";
    let audit: Vec<(String, Option<String>, serde_json::Value)> =
        sqlx::query_as(q).fetch_all(fx.p()).await.expect("audit");
    let extra = serde_json::json!({"from": "running", "to": "failed"});
    assert_eq!(
        audit,
        vec![(
            "mark_task_instance_failed".into(),
            Some("alice".into()),
            extra
        )]
    );
    let late = tis::finish(&mut fx.c, fence, FinishOutcome::Success)
        .await
        .expect("finish");
    assert_eq!(late, refused(S::Failed));
}

// Invariant: a reschedule gives the slot back without ending the try: no
// history row, a task_reschedule row, and the next schedule keeps the try number.
#[tokio::test]
async fn reschedule_keeps_the_try_and_counts_new_tries_at_schedule() {
    let mut fx = Fx::new().await;
    let id = fx.ti("d", "t", Ti::at("scheduled").tries(1)).await;
    let w = fx.worker("w").await;
    let first = fx.run_one(w).await;
    assert_eq!(first.try_number, 1);
    let at = Utc::now() - TimeDelta::seconds(1);
    let out = tis::reschedule(&mut fx.c, first, at)
        .await
        .expect("reschedule");
    assert!(matches!(&out, Applied(t) if t.state == Some(S::UpForReschedule)));
    let again = tis::reschedule(&mut fx.c, first, at).await.expect("again");
    assert_eq!(again, refused(S::UpForReschedule));
    assert_eq!(
        fx.count("SELECT count(*) FROM task_instance_history").await,
        0
    );
    assert_eq!(fx.count("SELECT count(*) FROM task_reschedule").await, 1);
    let started = tis::first_poke_of_try(&mut fx.c, id, 1)
        .await
        .expect("first poke");
    assert!(started.is_some());
    let out = tis::set_scheduled(&mut fx.c, &[id], Utc::now())
        .await
        .expect("schedule");
    assert_eq!(out, vec![(id, Applied(()))]);
    let second = fx.run_one(w).await;
    assert_eq!(second.try_number, 1, "a reschedule goes on with its try");
    let reaped = tis::finish(
        &mut fx.c,
        second,
        FinishOutcome::UpForRetry {
            next_retry_at: Utc::now(),
        },
    )
    .await
    .expect("finish");
    assert!(matches!(&reaped, Applied(t) if t.state == Some(S::UpForRetry)));
    tis::set_scheduled(&mut fx.c, &[id], Utc::now())
        .await
        .expect("schedule");
    let third = fx.run_one(w).await;
    assert_eq!(third.try_number, 2, "a retry is a new try");
}

// Invariant: branch skips move only task instances that have not started.
#[tokio::test]
async fn skip_in_run_moves_only_unstarted_task_instances() {
    let mut fx = Fx::new().await;
    let none = fx.ti("d", "a", Ti::none()).await;
    let sched = fx.ti("d", "b", Ti::at("scheduled")).await;
    let queued = fx.ti("d", "c", Ti::at("queued")).await;
    let other = fx.ti("d", "e", Ti::none()).await;
    let ids: Vec<String> = ["a", "b", "c", "missing"].map(str::to_owned).into();
    let moved = tis::skip_in_run(&mut fx.c, "d", "r", &ids, Utc::now())
        .await
        .expect("skip");
    assert_eq!(moved, 2);
    assert_eq!(fx.state(none).await.as_deref(), Some("skipped"));
    assert_eq!(fx.state(sched).await.as_deref(), Some("skipped"));
    assert_eq!(fx.state(queued).await.as_deref(), Some("queued"));
    assert_eq!(fx.state(other).await, None);
}

// Invariant: max_active_tis_per_dagrun caps one task within a run and
// max_active_tis_per_dag across runs, counting what is already running.
#[tokio::test]
async fn per_task_caps_hold_within_a_run_and_across_runs() {
    let mut fx = Fx::new().await;
    fx.sql("INSERT INTO dag_run (dag_id, run_id, run_type, state) VALUES ('d', 'r2', 'manual', 'running')")
        .await;
    // Task `m`: 4 mapped TIs in r and 4 in r2, at most 2 per run and 3 in all.
    fx.sql(
        "INSERT INTO task_instance (id, dag_id, run_id, task_id, map_index, state, try_number,
                                    max_active_tis_per_dag, max_active_tis_per_dagrun)
         SELECT gen_random_uuid(), 'd', r, 'm', i, 'scheduled', 1, 3, 2
           FROM unnest(ARRAY['r', 'r2']) r, generate_series(0, 3) i",
    )
    .await;
    // Task `u`: no caps.
    for _ in 0..1 {
        fx.ti("d", "u", Ti::at("scheduled")).await;
    }
    let queued = tis::queue_scheduled(&mut fx.c, 100, Utc::now())
        .await
        .expect("queue");
    let per_run = |run: &str| {
        queued
            .iter()
            .filter(|t| t.task_id == "m" && t.run_id == run)
            .count()
    };
    assert_eq!(queued.iter().filter(|t| t.task_id == "m").count(), 3);
    assert!(per_run("r") <= 2 && per_run("r2") <= 2, "{queued:?}");
    assert_eq!(queued.iter().filter(|t| t.task_id == "u").count(), 1);
    // Nothing more fits until one finishes.
    let again = tis::queue_scheduled(&mut fx.c, 100, Utc::now())
        .await
        .expect("queue");
    assert!(again.is_empty(), "{again:?}");
    fx.sql("UPDATE task_instance SET state = 'success' WHERE id = (SELECT id FROM task_instance WHERE task_id = 'm' AND state = 'queued' AND run_id = 'r' LIMIT 1)")
        .await;
    let more = tis::queue_scheduled(&mut fx.c, 100, Utc::now())
        .await
        .expect("queue");
    assert_eq!(more.len(), 1, "{more:?}");
}

// Invariant: a reaped try waits its task's own retry delay (with backoff and
// its cap), and the scheduler's default only when the row has none.
#[tokio::test]
async fn reaping_uses_the_tasks_retry_delay() {
    let mut fx = Fx::new().await;
    let own = fx.ti("d", "own", Ti::at("scheduled").tries(3)).await;
    let backoff = fx.ti("d", "backoff", Ti::at("scheduled").tries(5)).await;
    let default = fx.ti("d", "default", Ti::at("scheduled").tries(3)).await;
    fx.sql("UPDATE task_instance SET retry_delay = 7 WHERE task_id = 'own'")
        .await;
    // Third try: 10 * 2^2 = 40, capped at 25.
    fx.sql(
        "UPDATE task_instance SET retry_delay = 10, retry_exponential_backoff = true,
                                  max_retry_delay = 25, try_number = 3
          WHERE task_id = 'backoff'",
    )
    .await;
    let w = fx.worker("w").await;
    assert_eq!(fx.run_all(w).await.len(), 3);
    let now = (Utc::now() + TimeDelta::seconds(120)).trunc_subsecs(3);
    let reaped = tis::reap_expired_leases(&mut fx.c, now, DELAY, 100)
        .await
        .expect("reap");
    let wait = |id: Uuid| {
        reaped
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.next_retry_at)
            .map(|at| (at - now).num_milliseconds())
    };
    assert_eq!(wait(own), Some(7_000));
    assert_eq!(wait(backoff), Some(25_000));
    assert_eq!(
        wait(default),
        Some(i64::try_from(DELAY.as_millis()).unwrap_or(0))
    );
}

// Invariant: a worker of named queues claims only those; one with no
// queues (standalone, like Airflow's LocalExecutor) claims every queue.
#[tokio::test]
async fn claiming_by_queue_and_every_queue() {
    let mut fx = Fx::new().await;
    fx.ti("d", "etl", Ti::at("queued")).await;
    fx.sql("UPDATE task_instance SET queue = 'etl'").await;
    let w = fx.worker("w").await;
    let default_only = tis::claim(&mut fx.c, w, &queues(), 10, LEASE)
        .await
        .expect("claim");
    assert!(default_only.is_empty(), "{default_only:?}");
    let any = tis::claim(&mut fx.c, w, &[], 10, LEASE)
        .await
        .expect("claim");
    assert_eq!(any.len(), 1);
    assert_eq!(any[0].queue, "etl");
}
