//! Task instance and DAG run states, exactly Airflow's.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskInstanceState {
    Scheduled,
    Queued,
    Running,
    Success,
    Failed,
    Skipped,
    UpstreamFailed,
    UpForRetry,
    UpForReschedule,
    Deferred,
    Removed,
    Restarting,
}

impl TaskInstanceState {
    pub const ALL: [Self; 12] = [
        Self::Scheduled,
        Self::Queued,
        Self::Running,
        Self::Success,
        Self::Failed,
        Self::Skipped,
        Self::UpstreamFailed,
        Self::UpForRetry,
        Self::UpForReschedule,
        Self::Deferred,
        Self::Removed,
        Self::Restarting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::UpstreamFailed => "upstream_failed",
            Self::UpForRetry => "up_for_retry",
            Self::UpForReschedule => "up_for_reschedule",
            Self::Deferred => "deferred",
            Self::Removed => "removed",
            Self::Restarting => "restarting",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Airflow's "done" for trigger-rule purposes.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Self::Success | Self::Failed | Self::Skipped | Self::UpstreamFailed | Self::Removed
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DagRunState {
    Queued,
    Running,
    Success,
    Failed,
}

impl DagRunState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Success, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for s in TaskInstanceState::ALL {
            assert_eq!(TaskInstanceState::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).expect("json");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(TaskInstanceState::parse("shutdown"), None);
        assert_eq!(DagRunState::parse("running"), Some(DagRunState::Running));
    }
}
