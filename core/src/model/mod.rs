//! The domain model: ids, states, trigger rules and the serialized DAG.

pub mod connection_uri;
pub mod ids;
pub mod mapping;
pub mod params;
pub mod parse;
pub mod secrets;
pub mod serialized;
pub mod state;
pub mod trigger_rule;

pub use ids::DagId;
pub use parse::{ParseError, ParseErrorKind, ParseResult, ParseWarning};
pub use serialized::{SerializedDag, SerializedTask};
pub use state::{DagRunState, TaskInstanceState};
pub use trigger_rule::TriggerRule;
