//! Airflow's trigger rules (evaluation comes with the scheduler).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerRule {
    AllSuccess,
    AllFailed,
    AllDone,
    AllDoneSetupSuccess,
    AllDoneMinOneSuccess,
    AllSkipped,
    OneSuccess,
    OneFailed,
    OneDone,
    NoneFailed,
    NoneFailedMinOneSuccess,
    NoneSkipped,
    Always,
}

impl TriggerRule {
    /// Parses a rule name, mapping Airflow 2's deprecated aliases
    /// (`none_failed_or_skipped`, `dummy`) to what they mean.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "all_success" => Self::AllSuccess,
            "all_failed" => Self::AllFailed,
            "all_done" => Self::AllDone,
            "all_done_setup_success" => Self::AllDoneSetupSuccess,
            "all_done_min_one_success" => Self::AllDoneMinOneSuccess,
            "all_skipped" => Self::AllSkipped,
            "one_success" => Self::OneSuccess,
            "one_failed" => Self::OneFailed,
            "one_done" => Self::OneDone,
            "none_failed" => Self::NoneFailed,
            "none_failed_min_one_success" | "none_failed_or_skipped" => {
                Self::NoneFailedMinOneSuccess
            }
            "none_skipped" => Self::NoneSkipped,
            "always" | "dummy" => Self::Always,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_thirteen_and_the_aliases() {
        let names = [
            "all_success",
            "all_failed",
            "all_done",
            "all_done_setup_success",
            "all_done_min_one_success",
            "all_skipped",
            "one_success",
            "one_failed",
            "one_done",
            "none_failed",
            "none_failed_min_one_success",
            "none_skipped",
            "always",
        ];
        for n in names {
            let rule = TriggerRule::parse(n).expect(n);
            assert_eq!(
                serde_json::to_string(&rule).expect("json"),
                format!("\"{n}\"")
            );
        }
        assert_eq!(TriggerRule::parse("dummy"), Some(TriggerRule::Always));
        assert_eq!(TriggerRule::parse("sometimes"), None);
    }
}
