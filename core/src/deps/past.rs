//! `depends_on_past` and `wait_for_downstream` (Airflow's `PrevDagrunDep`)
//! as a pure check over what the previous run holds. The scheduler finds
//! the previous run and its task instances; this module only judges.

use crate::deps::DepStatus;
use crate::model::TaskInstanceState;

/// A task's past-dependency settings (serialized task fields).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PastSettings {
    pub depends_on_past: bool,
    pub ignore_first_depends_on_past: bool,
    /// Implies `depends_on_past` (Airflow sets both).
    pub wait_for_downstream: bool,
}

impl PastSettings {
    /// Whether the check applies at all.
    pub fn applies(self) -> bool {
        self.depends_on_past || self.wait_for_downstream
    }
}

/// What the previous run (Airflow's `get_previous_dagrun`, or
/// `get_previous_scheduled_dagrun` with catchup) says about one task instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    /// There is no previous run: the first run for the DAG.
    NoRun,
    /// With catchup, a previous run before the task's start_date.
    BeforeTaskStart,
    /// The previous run has no task instance of this task and map index.
    NoTaskInstance {
        /// Some earlier run has one (`ignore_first_depends_on_past` then does not help).
        has_historical_ti: bool,
    },
    TaskInstance {
        state: Option<TaskInstanceState>,
        /// The states of its direct downstream task instances in that run.
        downstream: Vec<Option<TaskInstanceState>>,
    },
}

fn done(state: Option<TaskInstanceState>) -> bool {
    matches!(
        state,
        Some(TaskInstanceState::Success | TaskInstanceState::Skipped)
    )
}

fn pass(reason: &str) -> DepStatus {
    DepStatus {
        passed: true,
        reason: reason.to_owned(),
    }
}

fn fail(reason: String) -> DepStatus {
    DepStatus {
        passed: false,
        reason,
    }
}

/// Airflow's `PrevDagrunDep`: whether a task instance may run given the
/// previous run, with Airflow's reasons.
pub fn evaluate(settings: PastSettings, previous: &Previous) -> DepStatus {
    if !settings.applies() {
        return pass("The task instance did not have any past dependencies.");
    }
    match previous {
        Previous::NoRun | Previous::BeforeTaskStart => {
            pass("This task instance was the first task instance for its task.")
        }
        Previous::NoTaskInstance { has_historical_ti } => {
            if settings.ignore_first_depends_on_past && !has_historical_ti {
                pass(
                    "ignore_first_depends_on_past is true for this task and it is the first \
                     task instance for its task.",
                )
            } else {
                fail(
                    "depends_on_past is true for this task's DAG, but the previous task \
                     instance has not run yet."
                        .to_owned(),
                )
            }
        }
        Previous::TaskInstance { state, downstream } => {
            if !done(*state) {
                let shown = state.map_or("None", |s| s.as_str());
                return fail(format!(
                    "depends_on_past is true for this task, but the state of the previous \
                     task instance is {shown}."
                ));
            }
            if settings.wait_for_downstream && !downstream.iter().all(|s| done(*s)) {
                return fail(
                    "The tasks downstream of the previous task instance haven't completed \
                     (and wait_for_downstream is True)."
                        .to_owned(),
                );
            }
            pass("The previous task instance succeeded or was skipped.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TaskInstanceState as S;

    const DOP: PastSettings = PastSettings {
        depends_on_past: true,
        ignore_first_depends_on_past: false,
        wait_for_downstream: false,
    };

    fn ti(state: Option<S>, downstream: &[Option<S>]) -> Previous {
        Previous::TaskInstance {
            state,
            downstream: downstream.to_vec(),
        }
    }

    #[test]
    fn without_the_setting_everything_passes() {
        let failed = ti(Some(S::Failed), &[]);
        assert!(evaluate(PastSettings::default(), &failed).passed);
    }

    #[test]
    fn previous_state_decides() {
        for (state, passed) in [
            (Some(S::Success), true),
            (Some(S::Skipped), true),
            (Some(S::Failed), false),
            (Some(S::UpstreamFailed), false),
            (Some(S::Running), false),
            (None, false),
        ] {
            assert_eq!(evaluate(DOP, &ti(state, &[])).passed, passed, "{state:?}");
        }
        assert!(evaluate(DOP, &Previous::NoRun).passed);
        assert!(evaluate(DOP, &Previous::BeforeTaskStart).passed);
    }

    #[test]
    fn a_missing_previous_ti_blocks_unless_ignore_first_and_no_history() {
        let missing = |h| Previous::NoTaskInstance {
            has_historical_ti: h,
        };
        assert!(!evaluate(DOP, &missing(false)).passed);
        let ignore_first = PastSettings {
            ignore_first_depends_on_past: true,
            ..DOP
        };
        assert!(evaluate(ignore_first, &missing(false)).passed);
        assert!(!evaluate(ignore_first, &missing(true)).passed);
    }

    #[test]
    fn wait_for_downstream_needs_the_previous_downstream_done() {
        let wfd = PastSettings {
            wait_for_downstream: true,
            ..DOP
        };
        let pending = ti(Some(S::Success), &[Some(S::Success), Some(S::Running)]);
        let status = evaluate(wfd, &pending);
        assert!(!status.passed && status.reason.contains("wait_for_downstream"));
        let done = ti(Some(S::Success), &[Some(S::Success), Some(S::Skipped)]);
        assert!(evaluate(wfd, &done).passed);
        assert!(
            evaluate(DOP, &pending).passed,
            "plain depends_on_past ignores downstream"
        );
    }
}
