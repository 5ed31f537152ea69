//! Setup/teardown: the indirect-setup constraint Airflow applies before the
//! rule itself (`_evaluate_setup_constraint`, L256-343 of
//! `trigger_rule_dep.py` in 3.1.8), and how it combines with the direct rule.
//! Each row: rule, direct upstreams, indirect setups, expected decision.

use super::{check_setup_table, counts};
use crate::deps::Decision::{Run, Skip, UpstreamFailed as Uf, Wait};
use crate::deps::{Decision, evaluate, evaluate_with_setups};
use crate::model::TriggerRule::*;

#[test]
fn indirect_setups_must_all_succeed() {
    check_setup_table(&[
        (AllSuccess, "ok", "ok*", Run),
        (AllSuccess, "ok", "ok* ok*", Run),
        (AllSuccess, "ok", "run*", Wait),
        (AllSuccess, "ok", "ok* -*", Wait),
        (AllSuccess, "ok", "fail*", Uf),
        (AllSuccess, "ok", "uf*", Uf),
        (AllSuccess, "ok", "skip*", Skip),
        // A failed setup outranks a skipped one (L301-304).
        (AllSuccess, "ok", "skip* fail*", Uf),
        // A removed indirect setup is never a success: waits for good (L330).
        (AllSuccess, "ok", "ok* rm*", Wait),
        // The constraint binds rules that otherwise accept anything...
        (AllDone, "fail", "ok*", Run),
        (AllDone, "fail", "fail*", Uf),
        (NoneFailed, "ok", "ok* skip*", Skip),
        (OneSuccess, "ok", "run*", Wait),
        (OneFailed, "fail", "skip*", Skip),
    ]);
}

#[test]
fn setup_outcomes_do_not_wait_for_the_direct_upstreams() {
    check_setup_table(&[
        // The setup failed: upstream_failed now, whatever the direct side does.
        (AllSuccess, "run", "fail*", Uf),
        (AllDone, "-", "skip*", Skip),
        (OneSuccess, "ok", "fail*", Uf),
    ]);
}

#[test]
fn a_waiting_setup_does_not_stop_the_direct_rule_from_ending_the_task() {
    // Only a state change returns early from the setup check (L630-632); a
    // pending setup falls through to the direct rule, which may still skip
    // or fail the task.
    check_setup_table(&[
        (AllSuccess, "fail", "run*", Uf),
        (AllSuccess, "skip", "run*", Skip),
        (NoneFailedMinOneSuccess, "skip skip", "run*", Skip),
        (AllSuccess, "run", "run*", Wait),
        (AllSuccess, "ok", "run*", Wait),
    ]);
}

#[test]
fn always_and_no_upstreams_ignore_indirect_setups() {
    // Both short-circuits come before the setup check (L109-114).
    check_setup_table(&[
        (Always, "fail", "fail*", Run),
        (Always, "run", "run*", Run),
        (AllSuccess, "", "fail*", Run),
    ]);
}

#[test]
fn teardowns_pass_no_indirect_setups_and_run_after_a_failed_work_task() {
    // A teardown's setups are direct upstreams; the scheduler passes empty
    // indirect counts for it (L619: "a teardown cannot have any indirect setups").
    check_setup_table(&[
        (AllDoneSetupSuccess, "ok* fail", "", Run),
        (AllDoneSetupSuccess, "ok* uf", "", Run),
        (AllDoneSetupSuccess, "ok* run", "", Wait),
        (AllDoneSetupSuccess, "fail* uf", "", Uf),
        (AllDoneSetupSuccess, "skip* skip", "", Skip),
    ]);
}

#[test]
fn empty_indirect_setups_change_nothing() {
    for rule in super::ALL_RULES {
        for spec in ["ok", "skip run", "fail*", "uf rm", "- ok*"] {
            let direct = counts(spec);
            assert_eq!(
                evaluate_with_setups(rule, &direct, &counts("")),
                evaluate(rule, &direct),
                "{rule:?} [{spec}]"
            );
        }
    }
}

#[test]
fn both_waits_are_explained() {
    let direct = crate::deps::UpstreamCounts::from_named([(
        "extract",
        Some(crate::model::TaskInstanceState::Running),
        false,
    )]);
    let evaluation = evaluate_with_setups(AllSuccess, &direct, &counts("run*"));
    assert_eq!(evaluation.decision, Decision::Wait);
    assert_eq!(
        evaluation.reason,
        "Waiting: 0 of 1 indirect setup tasks have succeeded; every setup this task depends on \
         through its upstreams must succeed; and upstream 'extract' is not done yet \
         (trigger rule all_success needs all of them to succeed)"
    );
}
