//! Pure scheduling checks: inputs -> `DepStatus { passed, reason }`. No I/O;
//! the scheduler gathers the inputs and applies the decisions.

pub mod branch;
pub mod counts;
pub mod decision;
pub mod past;
pub mod rules;
mod setup;

#[cfg(test)]
mod tests;

pub use counts::{Tally, UpstreamCounts};
pub use decision::{Decision, DepStatus, Evaluation};
pub use rules::{evaluate, evaluate_with_setups, rule_name};
