//! One table per trigger rule. Each row: rule, upstream spec (see
//! `tests/mod.rs`), the decision Airflow 3.1's scheduler reaches. Line
//! numbers cite `airflow/ti_deps/deps/trigger_rule_dep.py` in Airflow 3.1.8.

use super::{ALL_RULES, Row, check_table};
use crate::deps::Decision::{Run, Skip, UpstreamFailed as Uf, Wait};
use crate::model::TriggerRule::*;

#[test]
fn no_upstream_tasks_always_run() {
    // L109: a task without upstreams passes before its rule is looked at.
    let rows: Vec<Row> = ALL_RULES.iter().map(|&rule| (rule, "", Run)).collect();
    check_table(&rows);
}

#[test]
fn all_success() {
    check_table(&[
        (AllSuccess, "ok", Run),
        (AllSuccess, "ok ok ok", Run),
        (AllSuccess, "ok* ok", Run),
        (AllSuccess, "ok ok run", Wait),
        (AllSuccess, "- - -", Wait),
        (AllSuccess, "ok q", Wait),
        // up_for_retry is not finished: the failure may still turn to success.
        (AllSuccess, "ok retry", Wait),
        // Skips spread at once, without waiting for the other upstreams (L390-391).
        (AllSuccess, "ok skip run", Skip),
        (AllSuccess, "skip skip", Skip),
        (AllSuccess, "ok fail run", Uf),
        (AllSuccess, "uf ok", Uf),
        // A failure outranks a skip (L388 is checked before L390).
        (AllSuccess, "skip fail", Uf),
        (AllSuccess, "rm fail", Uf),
        (AllSuccess, "rm skip", Skip),
        // Surprising: for an unmapped TI a removed upstream is never a
        // success, so the task waits for good (L491-494, apache/airflow#33164).
        (AllSuccess, "ok rm", Wait),
        (AllSuccess, "rm", Wait),
    ]);
}

#[test]
fn all_failed() {
    check_table(&[
        (AllFailed, "fail", Run),
        (AllFailed, "fail uf", Run),
        (AllFailed, "uf uf", Run),
        (AllFailed, "fail run", Wait),
        (AllFailed, "fail retry", Wait),
        (AllFailed, "-", Wait),
        (AllFailed, "fail ok", Skip),
        // Any skip skips too (L396-397), even before the rest finish.
        (AllFailed, "fail skip", Skip),
        (AllFailed, "skip", Skip),
        (AllFailed, "ok run", Skip),
        // Removed neither skips (L396) nor counts as failed (L504): waits.
        (AllFailed, "fail rm", Wait),
        (AllFailed, "rm", Wait),
    ]);
}

#[test]
fn all_done() {
    check_table(&[
        (AllDone, "ok", Run),
        (AllDone, "fail skip uf rm ok", Run),
        (AllDone, "skip skip", Run),
        (AllDone, "uf", Run),
        // Removed counts as done (State.finished).
        (AllDone, "rm", Run),
        (AllDone, "fail run", Wait),
        (AllDone, "ok retry", Wait),
        (AllDone, "-", Wait),
        (AllDone, "ok q ok", Wait),
    ]);
}

#[test]
fn all_done_setup_success() {
    check_table(&[
        // No setup upstreams: the rule is all_done (L570 needs upstream_setup).
        (AllDoneSetupSuccess, "ok fail", Run),
        (AllDoneSetupSuccess, "fail fail", Run),
        (AllDoneSetupSuccess, "skip", Run),
        // The teardown case: the setup succeeded, the work failed, clean up.
        (AllDoneSetupSuccess, "ok* fail", Run),
        (AllDoneSetupSuccess, "ok* fail* fail", Run),
        (AllDoneSetupSuccess, "skip* ok* fail", Run),
        // Always waits for every upstream, even when a setup already failed.
        (AllDoneSetupSuccess, "ok* run", Wait),
        (AllDoneSetupSuccess, "fail* run", Wait),
        (AllDoneSetupSuccess, "-", Wait),
        (AllDoneSetupSuccess, "fail* ok", Uf),
        (AllDoneSetupSuccess, "uf* ok", Uf),
        // Skipped only when *every* setup was skipped (L437).
        (AllDoneSetupSuccess, "skip*", Skip),
        (AllDoneSetupSuccess, "skip* skip", Skip),
        (AllDoneSetupSuccess, "skip* skip* ok", Skip),
        (AllDoneSetupSuccess, "skip* fail*", Uf),
        (AllDoneSetupSuccess, "rm* ok", Uf),
    ]);
}

#[test]
fn all_done_min_one_success() {
    check_table(&[
        (AllDoneMinOneSuccess, "ok", Run),
        (AllDoneMinOneSuccess, "ok fail", Run),
        (AllDoneMinOneSuccess, "ok uf rm", Run),
        (AllDoneMinOneSuccess, "ok run", Wait),
        (AllDoneMinOneSuccess, "fail run", Wait),
        (AllDoneMinOneSuccess, "-", Wait),
        // Surprising: any skip skips the task, at once and even beside a
        // success; the rule does not tolerate skips (L430-432).
        (AllDoneMinOneSuccess, "skip run", Skip),
        (AllDoneMinOneSuccess, "ok skip", Skip),
        (AllDoneMinOneSuccess, "fail fail", Uf),
        (AllDoneMinOneSuccess, "fail rm", Uf),
        (AllDoneMinOneSuccess, "rm", Uf),
    ]);
}

#[test]
fn all_skipped() {
    check_table(&[
        (AllSkipped, "skip", Run),
        (AllSkipped, "skip skip", Run),
        (AllSkipped, "skip run", Wait),
        (AllSkipped, "-", Wait),
        (AllSkipped, "skip ok", Skip),
        (AllSkipped, "skip fail", Skip),
        (AllSkipped, "uf", Skip),
        (AllSkipped, "ok run", Skip),
        // Removed neither breaks the rule (L423) nor satisfies it (L550).
        (AllSkipped, "skip rm", Wait),
        (AllSkipped, "rm", Wait),
    ]);
}

#[test]
fn one_success() {
    check_table(&[
        (OneSuccess, "ok", Run),
        // Does not wait for the others.
        (OneSuccess, "ok run run", Run),
        (OneSuccess, "- ok", Run),
        (OneSuccess, "ok fail", Run),
        (OneSuccess, "fail run", Wait),
        (OneSuccess, "skip run", Wait),
        (OneSuccess, "-", Wait),
        (OneSuccess, "skip", Skip),
        (OneSuccess, "skip skip", Skip),
        (OneSuccess, "skip fail", Uf),
        (OneSuccess, "fail fail", Uf),
        (OneSuccess, "uf", Uf),
        // Surprising: `done == skipped` (L399) counts removed in `done`, so
        // skipped + removed is upstream_failed rather than skipped.
        (OneSuccess, "skip rm", Uf),
        (OneSuccess, "rm", Uf),
    ]);
}

#[test]
fn one_failed() {
    check_table(&[
        (OneFailed, "fail", Run),
        (OneFailed, "fail run", Run),
        (OneFailed, "uf run", Run),
        (OneFailed, "ok run", Wait),
        (OneFailed, "-", Wait),
        (OneFailed, "ok ok", Skip),
        (OneFailed, "ok skip rm", Skip),
        (OneFailed, "skip", Skip),
        (OneFailed, "rm", Skip),
    ]);
}

#[test]
fn one_done() {
    check_table(&[
        (OneDone, "ok", Run),
        (OneDone, "fail", Run),
        (OneDone, "fail run", Run),
        (OneDone, "ok run", Run),
        (OneDone, "uf ok", Run),
        (OneDone, "skip run", Wait),
        (OneDone, "-", Wait),
        // Surprising: upstream_failed is not "done" for one_done (L409, L481):
        // it neither triggers the task nor stops the wait...
        (OneDone, "uf run", Wait),
        // ...and an all-upstream_failed fan-in is skipped, not upstream_failed.
        (OneDone, "uf", Skip),
        (OneDone, "skip skip", Skip),
        (OneDone, "rm", Skip),
    ]);
}

#[test]
fn none_failed() {
    check_table(&[
        (NoneFailed, "ok", Run),
        (NoneFailed, "ok skip", Run),
        // Unlike none_failed_min_one_success, all-skipped runs.
        (NoneFailed, "skip skip", Run),
        (NoneFailed, "skip", Run),
        (NoneFailed, "ok run", Wait),
        (NoneFailed, "-", Wait),
        // A failure is final at once (L412).
        (NoneFailed, "fail run", Uf),
        (NoneFailed, "uf skip", Uf),
        // Removed is not a success or skip for an unmapped TI (L527-530).
        (NoneFailed, "ok rm", Wait),
    ]);
}

#[test]
fn none_failed_min_one_success() {
    check_table(&[
        (NoneFailedMinOneSuccess, "ok", Run),
        // The usual join after a branch.
        (NoneFailedMinOneSuccess, "ok skip", Run),
        (NoneFailedMinOneSuccess, "ok skip skip", Run),
        (NoneFailedMinOneSuccess, "skip", Skip),
        (NoneFailedMinOneSuccess, "skip skip", Skip),
        (NoneFailedMinOneSuccess, "skip run", Wait),
        (NoneFailedMinOneSuccess, "ok run", Wait),
        (NoneFailedMinOneSuccess, "-", Wait),
        (NoneFailedMinOneSuccess, "fail skip", Uf),
        (NoneFailedMinOneSuccess, "uf ok", Uf),
        // The failure check comes before the all-skipped check (L415-418).
        (NoneFailedMinOneSuccess, "fail skip skip", Uf),
        (NoneFailedMinOneSuccess, "ok rm", Wait),
        // Surprising: "min one success" exists only as the `skipped == upstream`
        // skip (L417); with a removed upstream it neither skips nor runs.
        (NoneFailedMinOneSuccess, "skip rm", Wait),
    ]);
}

#[test]
fn none_skipped() {
    check_table(&[
        (NoneSkipped, "ok", Run),
        // Failures do not matter to none_skipped: it runs (L539-540).
        (NoneSkipped, "ok fail uf", Run),
        (NoneSkipped, "fail", Run),
        (NoneSkipped, "rm ok", Run),
        (NoneSkipped, "ok run", Wait),
        (NoneSkipped, "-", Wait),
        (NoneSkipped, "skip run", Skip),
        (NoneSkipped, "ok skip", Skip),
    ]);
}

#[test]
fn always() {
    check_table(&[
        (Always, "", Run),
        (Always, "-", Run),
        (Always, "run run", Run),
        (Always, "fail", Run),
        (Always, "skip", Run),
        (Always, "uf rm run", Run),
    ]);
}

#[test]
fn skips_spread_through_all_success_and_stop_at_joins() {
    // A branch skipped one path: the skip spreads through all_success tasks
    // and stops at a join whose rule tolerates it.
    check_table(&[
        (AllSuccess, "skip", Skip),
        (NoneFailedMinOneSuccess, "ok skip", Run),
        (AllDone, "ok skip", Run),
        (OneSuccess, "ok skip", Run),
        (NoneFailed, "ok skip", Run),
        (NoneSkipped, "ok skip", Skip),
        (AllDoneMinOneSuccess, "ok skip", Skip),
    ]);
}

#[test]
fn upstream_failed_spreads_until_a_rule_accepts_failures() {
    check_table(&[
        (AllSuccess, "uf", Uf),
        (NoneFailed, "uf", Uf),
        (NoneFailedMinOneSuccess, "uf ok", Uf),
        (AllDoneMinOneSuccess, "uf", Uf),
        (OneSuccess, "uf", Uf),
        // These rules take an upstream_failed upstream as an outcome.
        (AllDone, "uf", Run),
        (OneFailed, "uf", Run),
        (AllFailed, "uf", Run),
        (NoneSkipped, "uf", Run),
        // all_skipped and one_done turn it into a skip.
        (AllSkipped, "uf", Skip),
        (OneDone, "uf", Skip),
    ]);
}
