//! What a dependency check concludes, and why, in words the UI can show.
//! A `Decision` tells the scheduler what to do; the scheduler, not the check,
//! writes any state change.

use std::fmt;

use crate::model::TaskInstanceState;

/// What the scheduler should do with a task instance after a trigger-rule
/// check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The trigger rule is met: the task may be scheduled.
    Run,
    /// Not yet: check again when an upstream changes state.
    Wait,
    /// The rule can never be met this way: set the task instance `skipped`.
    Skip,
    /// The rule can never be met: set the task instance `upstream_failed`.
    UpstreamFailed,
}

impl Decision {
    /// The state the scheduler writes for this decision, if any (Airflow's
    /// `flag_upstream_failed` outcomes).
    pub fn new_state(self) -> Option<TaskInstanceState> {
        match self {
            Self::Run | Self::Wait => None,
            Self::Skip => Some(TaskInstanceState::Skipped),
            Self::UpstreamFailed => Some(TaskInstanceState::UpstreamFailed),
        }
    }

    /// Skip and UpstreamFailed end the task instance without running it.
    pub fn is_terminal(self) -> bool {
        self.new_state().is_some()
    }

    /// The word a reason starts with.
    pub fn label(self) -> &'static str {
        match self {
            Self::Run => "Ready",
            Self::Wait => "Waiting",
            Self::Skip => "Skipped",
            Self::UpstreamFailed => "Upstream failed",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A dependency check's answer for the UI: passed or not, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepStatus {
    pub passed: bool,
    pub reason: String,
}

/// The outcome of a trigger-rule check: the decision and a plain-words
/// reason such as "Waiting: 2 of 3 upstream tasks are done (trigger rule
/// all_success needs all of them to succeed)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub reason: String,
}

impl Evaluation {
    /// Builds an evaluation whose reason is `"{label}: {body}"`.
    pub(crate) fn new(decision: Decision, body: impl fmt::Display) -> Self {
        Self {
            decision,
            reason: format!("{}: {body}", decision.label()),
        }
    }

    /// The reason without its leading label ("Waiting: " etc.).
    pub(crate) fn body(&self) -> &str {
        let label = self.decision.label();
        self.reason
            .strip_prefix(label)
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&self.reason)
    }

    /// The check as a `DepStatus`: passed only when the decision is `Run`.
    pub fn status(&self) -> DepStatus {
        DepStatus {
            passed: self.decision == Decision::Run,
            reason: self.reason.clone(),
        }
    }
}

impl From<Evaluation> for DepStatus {
    fn from(evaluation: Evaluation) -> Self {
        Self {
            passed: evaluation.decision == Decision::Run,
            reason: evaluation.reason,
        }
    }
}
