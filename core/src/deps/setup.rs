//! Setup tasks in trigger rules: the constraint that every indirect setup
//! succeeds (checked before the rule itself) and the rule teardowns use by
//! default, `all_done_setup_success`. Line numbers cite
//! `airflow/ti_deps/deps/trigger_rule_dep.py` as shipped in Airflow 3.1.8.

use super::counts::{Tally, UpstreamCounts};
use super::decision::{Decision, Evaluation};

/// Airflow's `_evaluate_setup_constraint` (L256-343): any failed indirect
/// setup fails the task at once, any skipped one skips it, and it waits
/// until all of them have succeeded. `None` when there are no indirect setups.
pub(super) fn setup_constraint(setups: &UpstreamCounts) -> Option<Evaluation> {
    if setups.total == 0 {
        return None;
    }
    const WHY: &str = "every setup this task depends on through its upstreams must succeed";
    Some(if setups.failed > 0 || setups.upstream_failed > 0 {
        Evaluation::new(
            Decision::UpstreamFailed,
            format!("{}; {WHY}", setups.describe_failures("setup")),
        )
    } else if setups.skipped > 0 {
        let who = setups.describe(Tally::Skipped, "setup", ("was skipped", "were skipped"));
        Evaluation::new(Decision::Skip, format!("{who}; {WHY}"))
    } else if setups.success < setups.total {
        // A removed setup never counts as a success here either (L330).
        Evaluation::new(
            Decision::Wait,
            format!(
                "{} of {} indirect setup tasks have succeeded; {WHY}",
                setups.success, setups.total
            ),
        )
    } else {
        Evaluation::new(Decision::Run, "all indirect setup tasks succeeded")
    })
}

/// `all_done_setup_success` (L436-443, L560-578): all done, then at least
/// one upstream setup must have succeeded, if there are any.
pub(super) fn all_done_setup_success(c: &UpstreamCounts, name: &str) -> Evaluation {
    if !c.all_done() {
        let body = format!(
            "{} (trigger rule {name} waits for all of them to finish)",
            c.progress()
        );
        return Evaluation::new(Decision::Wait, body);
    }
    if c.setup_total == 0 {
        let body = format!("all upstream tasks are done and none is a setup (trigger rule {name})");
        return Evaluation::new(Decision::Run, body);
    }
    if c.setup_skipped >= c.setup_total {
        let body = match c.setup_total {
            1 => format!("the upstream setup task was skipped (trigger rule {name})"),
            k => format!("all {k} upstream setup tasks were skipped (trigger rule {name})"),
        };
        return Evaluation::new(Decision::Skip, body);
    }
    if c.setup_success == 0 {
        let body = format!(
            "none of the {} upstream setup tasks succeeded and trigger rule {name} needs at \
             least one",
            c.setup_total
        );
        return Evaluation::new(Decision::UpstreamFailed, body);
    }
    let body = format!(
        "all upstream tasks are done and {} of {} setup tasks succeeded (trigger rule {name})",
        c.setup_success, c.setup_total
    );
    Evaluation::new(Decision::Run, body)
}
