//! Tests of the trigger-rule checks: one table per rule (`table`), the
//! indirect-setup constraint (`setups`), reason wording (`reasons`) and
//! exhaustive property checks over small DAGs (`properties`).
//!
//! Upstreams are written as a spec string, one token per upstream task
//! instance: `ok` success, `skip`, `fail`, `uf` upstream_failed, `rm`
//! removed, `run` running, `q` queued, `retry` up_for_retry, `-` no state;
//! a trailing `*` marks a setup task. `""` is no upstreams at all.

mod golden;
mod properties;
mod reasons;
mod setups;
mod table;

use super::{Decision, Evaluation, UpstreamCounts, evaluate, evaluate_with_setups, rule_name};
use crate::model::{TaskInstanceState, TriggerRule};

pub(super) const ALL_RULES: [TriggerRule; 13] = [
    TriggerRule::AllSuccess,
    TriggerRule::AllFailed,
    TriggerRule::AllDone,
    TriggerRule::AllDoneSetupSuccess,
    TriggerRule::AllDoneMinOneSuccess,
    TriggerRule::AllSkipped,
    TriggerRule::OneSuccess,
    TriggerRule::OneFailed,
    TriggerRule::OneDone,
    TriggerRule::NoneFailed,
    TriggerRule::NoneFailedMinOneSuccess,
    TriggerRule::NoneSkipped,
    TriggerRule::Always,
];

/// One upstream state from a spec token.
pub(super) fn state(token: &str) -> Option<TaskInstanceState> {
    use TaskInstanceState as S;
    match token {
        "ok" => Some(S::Success),
        "skip" => Some(S::Skipped),
        "fail" => Some(S::Failed),
        "uf" => Some(S::UpstreamFailed),
        "rm" => Some(S::Removed),
        "run" => Some(S::Running),
        "q" => Some(S::Queued),
        "retry" => Some(S::UpForRetry),
        "-" => None,
        other => panic!("unknown upstream token {other:?}"),
    }
}

/// `(state, is_setup)` pairs from a spec string.
pub(super) fn upstreams(spec: &str) -> Vec<(Option<TaskInstanceState>, bool)> {
    spec.split_whitespace()
        .map(|token| match token.strip_suffix('*') {
            Some(bare) => (state(bare), true),
            None => (state(token), false),
        })
        .collect()
}

pub(super) fn counts(spec: &str) -> UpstreamCounts {
    UpstreamCounts::from_states(upstreams(spec))
}

/// The invariants every evaluation keeps, whatever the inputs.
pub(super) fn assert_well_formed(evaluation: &Evaluation, context: &str) {
    let prefix = format!("{}: ", evaluation.decision.label());
    assert!(
        evaluation.reason.starts_with(&prefix) && evaluation.reason.len() > prefix.len(),
        "{context}: reason {:?} should start with {prefix:?}",
        evaluation.reason
    );
    assert_eq!(
        evaluation.status().passed,
        evaluation.decision == Decision::Run,
        "{context}"
    );
}

/// One table row: rule, direct upstreams, expected decision.
pub(super) type Row = (TriggerRule, &'static str, Decision);

/// Runs every row and reports all mismatches at once.
pub(super) fn check_table(rows: &[Row]) {
    let mut wrong = Vec::new();
    for &(rule, spec, expected) in rows {
        let evaluation = evaluate(rule, &counts(spec));
        let context = format!("{} [{spec}]", rule_name(rule));
        assert_well_formed(&evaluation, &context);
        if evaluation.decision != expected {
            wrong.push(format!(
                "{context}: expected {expected:?}, got {:?} ({})",
                evaluation.decision, evaluation.reason
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} rows wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// One row with indirect setups: rule, direct, indirect setups, expected.
pub(super) type SetupRow = (TriggerRule, &'static str, &'static str, Decision);

pub(super) fn check_setup_table(rows: &[SetupRow]) {
    let mut wrong = Vec::new();
    for &(rule, direct, indirect, expected) in rows {
        let evaluation = evaluate_with_setups(rule, &counts(direct), &counts(indirect));
        let context = format!("{} [{direct}] indirect [{indirect}]", rule_name(rule));
        assert_well_formed(&evaluation, &context);
        if evaluation.decision != expected {
            wrong.push(format!(
                "{context}: expected {expected:?}, got {:?} ({})",
                evaluation.decision, evaluation.reason
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} rows wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
