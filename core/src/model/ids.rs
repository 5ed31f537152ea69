//! Identifier newtypes, validated once where they enter the system.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A DAG id: Airflow's rule, alphanumerics, dashes, dots and underscores,
/// at most 250 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DagId(String);

impl DagId {
    pub fn parse(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        let reason = if value.is_empty() {
            Some("must not be empty")
        } else if value.len() > 250 {
            Some("must be at most 250 characters")
        } else if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            Some("may contain only letters, digits, '-', '.' and '_'")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidId {
                what: "DAG id",
                value,
                reason,
            }),
            None => Ok(Self(value)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DagId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Self::parse(value)
    }
}

impl From<DagId> for String {
    fn from(id: DagId) -> Self {
        id.0
    }
}

impl fmt::Display for DagId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_airflow_ids_and_rejects_others() {
        for ok in [
            "a",
            "software_factory_pipeline",
            "my-dag.v2",
            &"x".repeat(250),
        ] {
            assert!(DagId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "slash/dag", "ümlaut", &"x".repeat(251)] {
            assert!(DagId::parse(bad).is_err(), "{bad}");
        }
    }
}
