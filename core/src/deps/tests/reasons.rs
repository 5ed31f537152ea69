//! The counting constructor and the reasons the UI shows: plain words that
//! name the upstream in the way, and the rule.

use super::{counts, state};
use crate::deps::{Decision, DepStatus, Tally, UpstreamCounts, evaluate};
use crate::model::{TaskInstanceState as S, TriggerRule};

fn named(upstreams: &[(&'static str, &str)]) -> UpstreamCounts {
    UpstreamCounts::from_named(
        upstreams
            .iter()
            .map(|&(id, token)| match token.strip_suffix('*') {
                Some(bare) => (id, state(bare), true),
                None => (id, state(token), false),
            }),
    )
}

fn reason(rule: TriggerRule, counts: &UpstreamCounts) -> String {
    evaluate(rule, counts).reason
}

#[test]
fn counts_every_state_like_airflow() {
    // Finished = success, failed, skipped, upstream_failed, removed; every
    // other state, and no state, is unfinished.
    let mut all: Vec<_> = S::ALL.iter().map(|&s| (Some(s), false)).collect();
    all.push((None, false));
    let c = UpstreamCounts::from_states(all);
    assert_eq!((c.total, c.done(), c.unfinished()), (13, 5, 8));
    assert_eq!(
        (c.success, c.skipped, c.failed, c.upstream_failed, c.removed),
        (1, 1, 1, 1, 1)
    );
    assert!(!c.all_done());
    for s in S::ALL {
        assert_eq!(
            Tally::of(Some(s)) != Tally::Unfinished,
            s.is_finished(),
            "{s:?}"
        );
    }
}

#[test]
fn setup_counts_are_inclusive() {
    // Like Airflow's counter: a skipped setup counts in both `skipped` and
    // `setup_skipped`.
    let c = counts("skip* skip ok* fail* uf* rm* run*");
    assert_eq!((c.total, c.setup_total), (7, 6));
    assert_eq!((c.skipped, c.setup_skipped), (2, 1));
    assert_eq!((c.success, c.setup_success), (1, 1));
    assert_eq!(
        (c.setup_failed, c.setup_upstream_failed, c.setup_removed),
        (1, 1, 1)
    );
    assert_eq!(c.done(), 6);
}

#[test]
fn names_and_no_names_give_the_same_decision() {
    let plain = counts("ok skip run");
    let with_names = named(&[("a", "ok"), ("b", "skip"), ("c", "run")]);
    assert_eq!(plain.examples.get(Tally::Skipped), None);
    assert_eq!(with_names.examples.get(Tally::Skipped), Some("b"));
    for rule in super::ALL_RULES {
        assert_eq!(
            evaluate(rule, &plain).decision,
            evaluate(rule, &with_names).decision
        );
    }
}

#[test]
fn waiting_says_how_many_are_done() {
    let c = named(&[("extract", "ok"), ("transform", "ok"), ("load", "run")]);
    assert_eq!(
        reason(TriggerRule::AllSuccess, &c),
        "Waiting: 2 of 3 upstream tasks are done, 'load' is not \
         (trigger rule all_success needs all of them to succeed)"
    );
    assert_eq!(
        reason(TriggerRule::AllSuccess, &counts("ok run -")),
        "Waiting: 1 of 3 upstream tasks are done \
         (trigger rule all_success needs all of them to succeed)"
    );
}

#[test]
fn skips_name_the_skipped_upstream() {
    let c = named(&[("extract", "skip"), ("other", "ok")]);
    assert_eq!(
        reason(TriggerRule::AllSuccess, &c),
        "Skipped: upstream 'extract' was skipped and trigger rule all_success propagates skips"
    );
    let c = named(&[("a", "skip"), ("b", "skip"), ("c", "skip")]);
    assert_eq!(
        reason(TriggerRule::AllSuccess, &c),
        "Skipped: upstream 'a' and 2 others were skipped \
         and trigger rule all_success propagates skips"
    );
    assert_eq!(
        reason(TriggerRule::AllSuccess, &counts("skip skip")),
        "Skipped: 2 upstream tasks were skipped and trigger rule all_success propagates skips"
    );
}

#[test]
fn failures_name_failed_and_upstream_failed_upstreams() {
    let c = named(&[("load", "fail"), ("report", "uf"), ("x", "ok")]);
    assert_eq!(
        reason(TriggerRule::AllSuccess, &c),
        "Upstream failed: upstream 'load' failed and upstream 'report' is upstream_failed \
         and trigger rule all_success needs every upstream task to succeed"
    );
    assert_eq!(
        reason(TriggerRule::NoneFailed, &named(&[("load", "fail")])),
        "Upstream failed: upstream 'load' failed \
         and trigger rule none_failed tolerates skips but not failures"
    );
}

#[test]
fn ready_reasons_say_which_rule_was_met() {
    assert_eq!(
        reason(TriggerRule::AllSuccess, &counts("ok ok")),
        "Ready: all 2 upstream tasks succeeded (trigger rule all_success)"
    );
    assert_eq!(
        reason(
            TriggerRule::OneSuccess,
            &named(&[("fast", "ok"), ("slow", "run")])
        ),
        "Ready: upstream 'fast' succeeded (trigger rule one_success runs on the first success)"
    );
    assert_eq!(
        reason(TriggerRule::AllDone, &UpstreamCounts::default()),
        "Ready: the task has no upstream tasks"
    );
}

#[test]
fn a_removed_upstream_blocking_the_rule_is_explained() {
    let c = named(&[("a", "ok"), ("gone", "rm")]);
    let evaluation = evaluate(TriggerRule::AllSuccess, &c);
    assert_eq!(evaluation.decision, Decision::Wait);
    assert!(
        evaluation
            .reason
            .starts_with("Waiting: upstream 'gone' was removed; trigger rule all_success"),
        "{}",
        evaluation.reason
    );
    assert!(evaluation.reason.contains("apache/airflow#33164"));
}

#[test]
fn setup_rule_reasons_count_setups() {
    assert_eq!(
        reason(TriggerRule::AllDoneSetupSuccess, &counts("fail* fail* ok")),
        "Upstream failed: none of the 2 upstream setup tasks succeeded and trigger rule \
         all_done_setup_success needs at least one"
    );
    assert_eq!(
        reason(TriggerRule::AllDoneSetupSuccess, &counts("ok* fail")),
        "Ready: all upstream tasks are done and 1 of 1 setup tasks succeeded \
         (trigger rule all_done_setup_success)"
    );
}

#[test]
fn dep_status_passes_only_on_run() {
    let run = evaluate(TriggerRule::AllSuccess, &counts("ok"));
    let status: DepStatus = run.clone().into();
    assert!(status.passed);
    assert_eq!(status, run.status());
    assert!(
        !evaluate(TriggerRule::AllSuccess, &counts("run"))
            .status()
            .passed
    );
    assert!(
        !evaluate(TriggerRule::AllSuccess, &counts("skip"))
            .status()
            .passed
    );
    assert_eq!(Decision::Skip.new_state(), Some(S::Skipped));
    assert_eq!(
        Decision::UpstreamFailed.new_state(),
        Some(S::UpstreamFailed)
    );
    assert_eq!(Decision::Wait.new_state(), None);
}

#[test]
fn one_upstream_reads_in_the_singular() {
    assert_eq!(
        reason(TriggerRule::OneSuccess, &counts("skip")),
        "Skipped: the upstream task was skipped (trigger rule one_success)"
    );
    assert_eq!(
        reason(TriggerRule::AllDone, &counts("fail")),
        "Ready: the upstream task is done (trigger rule all_done)"
    );
    assert_eq!(
        reason(TriggerRule::AllDoneSetupSuccess, &counts("skip*")),
        "Skipped: the upstream setup task was skipped (trigger rule all_done_setup_success)"
    );
}
