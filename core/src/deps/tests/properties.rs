//! Property checks, exhaustive over every multiset of up to three upstreams
//! (each in any state, setup or not): invariants that hold for all rules
//! rather than for chosen rows.

use super::{ALL_RULES, assert_well_formed};
use crate::deps::{Decision, UpstreamCounts, evaluate, evaluate_with_setups, rule_name};
use crate::model::{TaskInstanceState as S, TriggerRule};

type Upstream = (Option<S>, bool);

const STATES: [Option<S>; 7] = [
    None,
    Some(S::Running),
    Some(S::Success),
    Some(S::Skipped),
    Some(S::Failed),
    Some(S::UpstreamFailed),
    Some(S::Removed),
];

const FINISHED: [S; 5] = [
    S::Success,
    S::Skipped,
    S::Failed,
    S::UpstreamFailed,
    S::Removed,
];

fn symbols(setup_flags: &[bool]) -> Vec<Upstream> {
    setup_flags
        .iter()
        .flat_map(|&is_setup| STATES.iter().map(move |&s| (s, is_setup)))
        .collect()
}

/// Every multiset of at most `max_len` symbols, the empty one included.
fn multisets(symbols: &[Upstream], max_len: usize) -> Vec<Vec<Upstream>> {
    fn grow(
        symbols: &[Upstream],
        from: usize,
        left: usize,
        current: &mut Vec<Upstream>,
        out: &mut Vec<Vec<Upstream>>,
    ) {
        out.push(current.clone());
        if left == 0 {
            return;
        }
        for i in from..symbols.len() {
            current.push(symbols[i]);
            grow(symbols, i, left - 1, current, out);
            current.pop();
        }
    }
    let mut out = Vec::new();
    grow(symbols, 0, max_len, &mut Vec::new(), &mut out);
    out
}

/// Every later state of these upstreams: each unfinished one either stays
/// unfinished or finishes in any state; finished ones never change.
fn futures(upstreams: &[Upstream]) -> Vec<Vec<Upstream>> {
    let mut out = vec![Vec::new()];
    for &(state, is_setup) in upstreams {
        let options: Vec<Option<S>> = if state.is_some_and(S::is_finished) {
            vec![state]
        } else {
            std::iter::once(state).chain(FINISHED.map(Some)).collect()
        };
        out = out
            .into_iter()
            .flat_map(|prefix| {
                options.iter().map(move |&option| {
                    let mut next = prefix.clone();
                    next.push((option, is_setup));
                    next
                })
            })
            .collect();
    }
    out
}

fn counts(upstreams: &[Upstream]) -> UpstreamCounts {
    UpstreamCounts::from_states(upstreams.iter().copied())
}

fn every_case(mut check: impl FnMut(TriggerRule, &[Upstream], Decision)) {
    for upstreams in multisets(&symbols(&[false, true]), 3) {
        let c = counts(&upstreams);
        for rule in ALL_RULES {
            let evaluation = evaluate(rule, &c);
            assert_well_formed(&evaluation, &format!("{} {upstreams:?}", rule_name(rule)));
            check(rule, &upstreams, evaluation.decision);
        }
    }
}

#[test]
fn always_always_runs_and_so_does_a_task_without_upstreams() {
    every_case(|rule, upstreams, decision| {
        if rule == TriggerRule::Always || upstreams.is_empty() {
            assert_eq!(decision, Decision::Run, "{rule:?} {upstreams:?}");
        }
    });
}

#[test]
fn with_no_upstream_done_only_always_runs_and_nothing_is_decided() {
    every_case(|rule, upstreams, decision| {
        if !upstreams.is_empty() && counts(upstreams).done() == 0 && rule != TriggerRule::Always {
            assert_eq!(decision, Decision::Wait, "{rule:?} {upstreams:?}");
        }
    });
}

#[test]
fn run_is_never_taken_back() {
    // Once the rule is met, no later upstream outcome unmeets it.
    every_case(|rule, upstreams, decision| {
        if decision == Decision::Run {
            for future in futures(upstreams) {
                let later = evaluate(rule, &counts(&future)).decision;
                assert_eq!(later, Decision::Run, "{rule:?} {upstreams:?} -> {future:?}");
            }
        }
    });
}

#[test]
fn skip_or_upstream_failed_only_when_the_rule_can_no_longer_be_met() {
    // A terminal decision is made only when every later outcome is terminal
    // too (it may name the other terminal state: a skipped all_success task
    // whose other upstream then fails is past caring).
    every_case(|rule, upstreams, decision| {
        if decision.is_terminal() {
            for future in futures(upstreams) {
                let later = evaluate(rule, &counts(&future)).decision;
                assert!(
                    later.is_terminal(),
                    "{rule:?} {upstreams:?} -> {future:?}: {later:?}"
                );
            }
        }
    });
}

#[test]
fn when_every_upstream_is_done_only_a_removed_one_leaves_the_task_waiting() {
    every_case(|rule, upstreams, decision| {
        let c = counts(upstreams);
        if c.all_done() && decision == Decision::Wait {
            assert!(
                c.removed > 0,
                "{rule:?} {upstreams:?} waits with nothing to wait for"
            );
        }
    });
}

#[test]
fn only_all_done_setup_success_cares_which_upstreams_are_setups() {
    every_case(|rule, upstreams, decision| {
        let plain: Vec<Upstream> = upstreams.iter().map(|&(s, _)| (s, false)).collect();
        let without_setups = evaluate(rule, &counts(&plain)).decision;
        if rule != TriggerRule::AllDoneSetupSuccess {
            assert_eq!(decision, without_setups, "{rule:?} {upstreams:?}");
        }
    });
}

#[test]
fn every_unfinished_state_reads_the_same() {
    let unfinished = [
        None,
        Some(S::Scheduled),
        Some(S::Queued),
        Some(S::Running),
        Some(S::UpForRetry),
        Some(S::UpForReschedule),
        Some(S::Deferred),
        Some(S::Restarting),
    ];
    for rule in ALL_RULES {
        let expected = evaluate(rule, &counts(&[(None, false), (Some(S::Success), false)]));
        for state in unfinished {
            let got = evaluate(rule, &counts(&[(state, false), (Some(S::Success), false)]));
            assert_eq!(got.decision, expected.decision, "{rule:?} {state:?}");
        }
    }
}

#[test]
fn indirect_setups_keep_the_same_guarantees() {
    let direct_sets = multisets(&symbols(&[false]), 2);
    let setup_sets = multisets(&symbols(&[true]), 2);
    for direct in &direct_sets {
        for setups in &setup_sets {
            for rule in ALL_RULES {
                let context = format!("{rule:?} {direct:?} setups {setups:?}");
                let now = evaluate_with_setups(rule, &counts(direct), &counts(setups));
                assert_well_formed(&now, &context);
                let all_setups_ok = setups.iter().all(|&(s, _)| s == Some(S::Success));
                if now.decision == Decision::Run
                    && rule != TriggerRule::Always
                    && !direct.is_empty()
                {
                    assert!(all_setups_ok, "{context}: ran before its setups succeeded");
                }
                if now.decision == Decision::Wait {
                    continue;
                }
                for later_direct in futures(direct) {
                    for later_setups in futures(setups) {
                        let later = evaluate_with_setups(
                            rule,
                            &counts(&later_direct),
                            &counts(&later_setups),
                        );
                        let same_kind = later.decision.is_terminal() == now.decision.is_terminal()
                            && (later.decision == Decision::Run) == (now.decision == Decision::Run);
                        assert!(
                            same_kind,
                            "{context} -> {later_direct:?} {later_setups:?}: {:?}",
                            later.decision
                        );
                    }
                }
            }
        }
    }
}
