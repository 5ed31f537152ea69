//! The thirteen trigger rules as pure functions of the upstream counts,
//! matching Airflow 3.1's `TriggerRuleDep` as the scheduler runs it
//! (`flag_upstream_failed=True`). Line numbers cite
//! `airflow/ti_deps/deps/trigger_rule_dep.py` as shipped in Airflow 3.1.8.
//!
//! Airflow first decides whether the rule can no longer be met (and then sets
//! `skipped` or `upstream_failed`), then whether it is met; a state it sets
//! wins over the pass/fail answer (`DagRun._get_ready_tis` only schedules
//! TIs still in a schedulable state). Here that is one `Decision`.
//!
//! Scope: the task instance being checked is unmapped (`map_index = -1`).
//! For mapped task instances Airflow subtracts `removed` upstreams in some
//! rules and can set the TI `removed`; that is not modelled here. Nor is
//! `wait_for_past_depends_before_skipping`: when it is set and the past
//! depends are not met, the scheduler must treat a `Skip` as `Wait`.

use super::counts::{Tally, UpstreamCounts};
use super::decision::{Decision, Evaluation};
use super::setup::{all_done_setup_success, setup_constraint};
use crate::model::TriggerRule;

/// Evaluates `rule` against the direct upstreams of an unmapped task
/// instance that has no indirect setups (see [`evaluate_with_setups`]).
pub fn evaluate(rule: TriggerRule, counts: &UpstreamCounts) -> Evaluation {
    evaluate_with_setups(rule, counts, &UpstreamCounts::default())
}

/// Evaluates `rule` against the direct upstreams, plus the constraint that
/// every *indirect* setup must succeed.
///
/// `indirect_setups` counts the relevant setups upstream of the task that are
/// not direct upstreams (Airflow's `get_upstreams_only_setups()` minus
/// `upstream_task_ids`: setups with no teardown, or with a teardown
/// downstream of this task). Pass empty counts for a teardown task: Airflow
/// never applies the constraint to teardowns (L619).
pub fn evaluate_with_setups(
    rule: TriggerRule,
    direct: &UpstreamCounts,
    indirect_setups: &UpstreamCounts,
) -> Evaluation {
    // Both short-circuits come before the setup constraint (L109-114).
    if direct.total == 0 {
        return Evaluation::new(Decision::Run, "the task has no upstream tasks");
    }
    if rule == TriggerRule::Always {
        return Evaluation::new(
            Decision::Run,
            "trigger rule always runs whatever the upstream states",
        );
    }
    match setup_constraint(indirect_setups) {
        // A failed or skipped indirect setup decides at once (L628-632).
        Some(setups) if setups.decision.is_terminal() => setups,
        // A waiting setup does not stop the direct rule from skipping or
        // failing the task: only a state *change* returns early (L630).
        Some(setups) if setups.decision == Decision::Wait => {
            let own = direct_relatives(rule, direct);
            match own.decision {
                Decision::Run => setups,
                Decision::Wait => Evaluation::new(
                    Decision::Wait,
                    format!("{}; and {}", setups.body(), own.body()),
                ),
                Decision::Skip | Decision::UpstreamFailed => own,
            }
        }
        _ => direct_relatives(rule, direct),
    }
}

/// The rule's own name, as Airflow spells it.
pub fn rule_name(rule: TriggerRule) -> &'static str {
    match rule {
        TriggerRule::AllSuccess => "all_success",
        TriggerRule::AllFailed => "all_failed",
        TriggerRule::AllDone => "all_done",
        TriggerRule::AllDoneSetupSuccess => "all_done_setup_success",
        TriggerRule::AllDoneMinOneSuccess => "all_done_min_one_success",
        TriggerRule::AllSkipped => "all_skipped",
        TriggerRule::OneSuccess => "one_success",
        TriggerRule::OneFailed => "one_failed",
        TriggerRule::OneDone => "one_done",
        TriggerRule::NoneFailed => "none_failed",
        TriggerRule::NoneFailedMinOneSuccess => "none_failed_min_one_success",
        TriggerRule::NoneSkipped => "none_skipped",
        TriggerRule::Always => "always",
    }
}

/// Airflow's `_evaluate_direct_relatives` (L345-617) for an unmapped TI.
fn direct_relatives(rule: TriggerRule, c: &UpstreamCounts) -> Evaluation {
    use Decision::{Run, Skip, UpstreamFailed, Wait};
    let name = rule_name(rule);
    let n = c.total;
    let any_failure = c.failed > 0 || c.upstream_failed > 0;
    let skipped = || c.describe(Tally::Skipped, "upstream", ("was skipped", "were skipped"));
    let succeeded = || c.describe(Tally::Success, "upstream", ("succeeded", "succeeded"));
    // "the upstream task is done" / "all 3 upstream tasks are done".
    let all = |one: &str, many: &str| match n {
        1 => format!("the upstream task {one}"),
        _ => format!("all {n} upstream tasks {many}"),
    };
    let run = |one: &str, many: &str| {
        Evaluation::new(Run, format!("{} (trigger rule {name})", all(one, many)))
    };
    let wait = |what: &str| {
        Evaluation::new(
            Wait,
            format!("{} (trigger rule {name} {what})", c.progress()),
        )
    };

    match rule {
        TriggerRule::Always => run("may be in any state", "may be in any state"),
        TriggerRule::AllSuccess => {
            // L387-394: no need to wait for the rest once one failed or skipped.
            if any_failure {
                let why = format!("trigger rule {name} needs every upstream task to succeed");
                Evaluation::new(
                    UpstreamFailed,
                    format!("{} and {why}", c.describe_failures("upstream")),
                )
            } else if c.skipped > 0 {
                let why = format!("trigger rule {name} propagates skips");
                Evaluation::new(Skip, format!("{} and {why}", skipped()))
            } else if c.success >= n {
                run("succeeded", "succeeded")
            } else {
                wait_for_all(c, name, "succeed", || wait("needs all of them to succeed"))
            }
        }
        TriggerRule::AllFailed => {
            // L395-397: any success *or skip* skips; removed never does.
            if c.success > 0 || c.skipped > 0 {
                let who = match (c.success > 0, c.skipped > 0) {
                    (true, true) => format!("{} and {}", succeeded(), skipped()),
                    (true, false) => succeeded(),
                    _ => skipped(),
                };
                let why = format!("trigger rule {name} needs every upstream task to fail");
                Evaluation::new(Skip, format!("{who} and {why}"))
            } else if c.failed.saturating_add(c.upstream_failed) >= n {
                run(
                    "failed or is upstream_failed",
                    "failed or are upstream_failed",
                )
            } else {
                wait_for_all(c, name, "fail", || wait("needs all of them to fail"))
            }
        }
        TriggerRule::AllDone => {
            if c.all_done() {
                run("is done", "are done")
            } else {
                wait("waits for all of them to finish")
            }
        }
        TriggerRule::AllDoneSetupSuccess => all_done_setup_success(c, name),
        TriggerRule::AllDoneMinOneSuccess => {
            // L425-435. Despite the name, skips are not tolerated: one skipped
            // upstream skips the task at once, before the others finish.
            if c.skipped > 0 {
                let why = format!("trigger rule {name} skips as soon as any upstream is skipped");
                Evaluation::new(Skip, format!("{} and {why}", skipped()))
            } else if c.all_done() && c.success == 0 {
                let why = format!("trigger rule {name} needs at least one success");
                Evaluation::new(
                    UpstreamFailed,
                    format!("{} but none succeeded; {why}", all("is done", "are done")),
                )
            } else if c.all_done() {
                run("succeeded", "are done and at least one succeeded")
            } else {
                wait("needs all of them done and at least one success")
            }
        }
        TriggerRule::AllSkipped => {
            // L422-424; a removed upstream neither skips nor passes (L549-551).
            if c.success > 0 || any_failure {
                let who = match (c.success > 0, any_failure) {
                    (true, true) => {
                        format!("{} and {}", succeeded(), c.describe_failures("upstream"))
                    }
                    (true, false) => succeeded(),
                    _ => c.describe_failures("upstream"),
                };
                let why = format!("trigger rule {name} needs every upstream task to be skipped");
                Evaluation::new(Skip, format!("{who} and {why}"))
            } else if c.skipped >= n {
                run("was skipped", "were skipped")
            } else {
                wait_for_all(c, name, "be skipped", || {
                    wait("needs all of them to be skipped")
                })
            }
        }
        TriggerRule::OneSuccess => {
            // L398-404: all skipped -> skipped; otherwise no success -> upstream_failed.
            // `done == skipped` counts removed as done, so skipped + removed
            // upstreams give upstream_failed, not skipped.
            if c.success > 0 {
                let why = format!("trigger rule {name} runs on the first success");
                Evaluation::new(Run, format!("{} ({why})", succeeded()))
            } else if c.all_done() && c.done() == c.skipped {
                Evaluation::new(
                    Skip,
                    format!(
                        "{} (trigger rule {name})",
                        all("was skipped", "were skipped")
                    ),
                )
            } else if c.all_done() {
                let why = format!("trigger rule {name} needs one success");
                Evaluation::new(
                    UpstreamFailed,
                    format!("{} and none succeeded ({why})", all("is done", "are done")),
                )
            } else {
                wait("runs on the first success; none yet")
            }
        }
        TriggerRule::OneFailed => {
            if any_failure {
                let why = format!("trigger rule {name} runs on the first failure");
                Evaluation::new(Run, format!("{} ({why})", c.describe_failures("upstream")))
            } else if c.all_done() {
                Evaluation::new(
                    Skip,
                    format!(
                        "{} and none failed (trigger rule {name})",
                        all("is done", "are done")
                    ),
                )
            } else {
                wait("runs on the first failure; none yet")
            }
        }
        TriggerRule::OneDone => {
            // L408-410 and L480-481: only success and failed count as "done"
            // here; upstream_failed, skipped and removed do not.
            if c.success > 0 || c.failed > 0 {
                let who = if c.success > 0 {
                    succeeded()
                } else {
                    c.describe(Tally::Failed, "upstream", ("failed", "failed"))
                };
                Evaluation::new(
                    Run,
                    format!("{who} (trigger rule {name} runs on the first success or failure)"),
                )
            } else if c.all_done() {
                let why = format!("trigger rule {name} counts only success or failed");
                Evaluation::new(
                    Skip,
                    format!(
                        "{} but none succeeded or failed; {why}",
                        all("is done", "are done")
                    ),
                )
            } else {
                wait("runs on the first success or failure; none yet")
            }
        }
        TriggerRule::NoneFailed | TriggerRule::NoneFailedMinOneSuccess => {
            none_failed(rule, c, || {
                wait("needs all of them to succeed or be skipped")
            })
        }
        TriggerRule::NoneSkipped => {
            if c.skipped > 0 {
                let why = format!("trigger rule {name} needs no upstream task to be skipped");
                Evaluation::new(Skip, format!("{} and {why}", skipped()))
            } else if c.all_done() {
                run(
                    "is done and was not skipped",
                    "are done and none was skipped",
                )
            } else {
                wait("waits for all of them, none skipped")
            }
        }
    }
}

/// `none_failed` and `none_failed_min_one_success` (L411-418, L526-538).
fn none_failed(
    rule: TriggerRule,
    c: &UpstreamCounts,
    waiting: impl FnOnce() -> Evaluation,
) -> Evaluation {
    let name = rule_name(rule);
    if c.failed > 0 || c.upstream_failed > 0 {
        let why = format!("trigger rule {name} tolerates skips but not failures");
        return Evaluation::new(
            Decision::UpstreamFailed,
            format!("{} and {why}", c.describe_failures("upstream")),
        );
    }
    // The "min one success" half exists only as this skip (L417): with
    // skipped + removed upstreams and no success the task waits instead.
    if rule == TriggerRule::NoneFailedMinOneSuccess && c.skipped == c.total {
        let why = format!("trigger rule {name} needs at least one success");
        return Evaluation::new(
            Decision::Skip,
            format!("every upstream task was skipped and {why}"),
        );
    }
    if c.success.saturating_add(c.skipped) >= c.total {
        let what = match rule {
            TriggerRule::NoneFailed => "succeeded or were skipped",
            _ => "succeeded or were skipped, at least one succeeded",
        };
        return Evaluation::new(
            Decision::Run,
            format!("all upstream tasks {what} (trigger rule {name})"),
        );
    }
    wait_for_all(c, name, "succeed or be skipped", waiting)
}

/// For the rules that need every upstream in one state: once everything is
/// finished, the only thing still in the way is a `removed` upstream, which
/// an unmapped task instance never subtracts (L490-494, L503-507, L526-530,
/// L549-551). Airflow then waits for good; the run deadlocks
/// (apache/airflow#33164). Say so instead of "waiting for upstreams".
fn wait_for_all(
    c: &UpstreamCounts,
    name: &str,
    need: &str,
    waiting: impl FnOnce() -> Evaluation,
) -> Evaluation {
    if !(c.all_done() && c.removed > 0) {
        return waiting();
    }
    let who = c.describe(Tally::Removed, "upstream", ("was removed", "were removed"));
    Evaluation::new(
        Decision::Wait,
        format!(
            "{who}; trigger rule {name} needs every upstream task to {need} and Airflow never \
             counts a removed one, so this waits until it is cleared (apache/airflow#33164)"
        ),
    )
}
