//! The pure task decisions on small graphs, as tables.

use chrono::TimeZone;
use serde_json::json;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// a >> b >> d, c >> d; d's rule is `join`; every task `kind`.
fn graph(join: &str, kind: &str) -> Graph {
    let t = |id: &str, up: &[&str], down: &[&str], rule: &str| {
        json!({"task_id": id, "task_type": "BashOperator", "operator_kind": kind, "upstream_task_ids": up,
               "downstream_task_ids": down, "trigger_rule": rule})
    };
    let data = json!({"tasks": [
        t("a", &[], &["b"], "all_success"),
        t("b", &["a"], &["d"], "all_success"),
        t("c", &[], &["d"], "all_success"),
        t("d", &["b", "c"], &[], join),
    ]});
    Graph::from_serialized(&data).expect("graph")
}

fn tis(states: [Option<TaskInstanceState>; 4]) -> Vec<TiStatus> {
    ["a", "b", "c", "d"]
        .into_iter()
        .zip(states)
        .enumerate()
        .map(|(i, (task_id, state))| TiStatus {
            id: Uuid::from_u128(i as u128 + 1),
            task_id: task_id.to_owned(),
            map_index: -1,
            state,
            next_retry_at: None,
        })
        .collect()
}

fn decided(graph: &Graph, tis: &[TiStatus]) -> Vec<(String, Decision)> {
    let mut out: Vec<_> = decide(graph, tis, &PastView::default(), now())
        .into_iter()
        .map(|d| (d.task_id, d.decision))
        .collect();
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out
}

use TaskInstanceState as S;

// Invariant: only stateless task instances are decided; Wait is left out;
// failures and skips propagate by the trigger rule.
#[test]
fn decisions_by_upstream_states() {
    let d = |id: &str, dec: Decision| (id.to_owned(), dec);
    let cases = [
        // Nothing ran yet: the roots run, the rest wait.
        (
            "all_success",
            [None, None, None, None],
            vec![d("a", Decision::Run), d("c", Decision::Run)],
        ),
        // A failed root: b is upstream_failed; d waits on b.
        (
            "all_success",
            [Some(S::Failed), None, Some(S::Success), None],
            vec![d("b", Decision::UpstreamFailed)],
        ),
        // A skipped upstream skips an all_success join.
        (
            "all_success",
            [Some(S::Skipped), Some(S::Skipped), Some(S::Success), None],
            vec![d("d", Decision::Skip)],
        ),
        // ...but not a none_failed_min_one_success one.
        (
            "none_failed_min_one_success",
            [Some(S::Skipped), Some(S::Skipped), Some(S::Success), None],
            vec![d("d", Decision::Run)],
        ),
        // one_success runs with one upstream still running.
        (
            "one_success",
            [Some(S::Success), Some(S::Running), Some(S::Success), None],
            vec![d("d", Decision::Run)],
        ),
    ];
    for (rule, states, want) in cases {
        assert_eq!(
            decided(&graph(rule, "bash"), &tis(states)),
            want,
            "{rule} {states:?}"
        );
    }
}

// Invariant: a try waiting for its retry runs again only once its time came.
#[test]
fn retries_wait_for_their_time() {
    let g = graph("all_success", "bash");
    let mut all = tis([Some(S::UpForRetry), None, Some(S::Running), None]);
    all[0].next_retry_at = Some(now() + chrono::TimeDelta::seconds(1));
    assert_eq!(decided(&g, &all), vec![]);
    all[0].next_retry_at = Some(now());
    assert_eq!(decided(&g, &all), vec![("a".to_owned(), Decision::Run)]);
}

// Invariant: a deferred try resumes only once its event or timeout made it
// due; without a time it waits for its event.
#[test]
fn deferrals_wait_until_due() {
    let g = graph("all_success", "bash");
    let mut all = tis([Some(S::Deferred), None, Some(S::Running), None]);
    assert_eq!(decided(&g, &all), vec![]);
    all[0].next_retry_at = Some(now() + chrono::TimeDelta::seconds(1));
    assert_eq!(decided(&g, &all), vec![]);
    all[0].next_retry_at = Some(now());
    assert_eq!(decided(&g, &all), vec![("a".to_owned(), Decision::Run)]);
}

// Invariant: Airflow's leaf rule: no outcome while anything is unfinished;
// failed if a leaf failed or is upstream_failed; a failed non-leaf alone
// does not fail the run.
#[test]
fn leaf_rule() {
    let g = graph("all_done", "bash");
    let cases = [
        (
            [Some(S::Success), Some(S::Running), Some(S::Success), None],
            None,
        ),
        (
            [
                Some(S::Success),
                Some(S::Success),
                Some(S::Skipped),
                Some(S::Success),
            ],
            Some(RunOutcome::Success),
        ),
        (
            [
                Some(S::Failed),
                Some(S::UpstreamFailed),
                Some(S::Success),
                Some(S::Success),
            ],
            Some(RunOutcome::Success),
        ),
        (
            [
                Some(S::Success),
                Some(S::Success),
                Some(S::Success),
                Some(S::UpstreamFailed),
            ],
            Some(RunOutcome::Failed),
        ),
    ];
    for (states, want) in cases {
        assert_eq!(run_outcome(&g, &tis(states)), want, "{states:?}");
    }
    assert_eq!(run_outcome(&g, &[]), None);
}

// Invariant: an unknown trigger rule is refused rather than guessed.
#[test]
fn unknown_trigger_rule_is_an_error() {
    let data = json!({"tasks": [{"task_id": "a", "task_type": "BashOperator", "trigger_rule": "sometimes"}]});
    assert!(Graph::from_serialized(&data).is_err());
}
