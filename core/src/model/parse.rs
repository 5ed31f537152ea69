//! What a parse child answers for one DAG file (docs/serialized-dag.md).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ParseResult {
    pub path: String,
    pub ok: bool,
    /// Serialized DAGs as the child wrote them (canonical JSON text): hashed
    /// and stored verbatim, never re-encoded.
    #[serde(default)]
    pub dags: Vec<Box<RawValue>>,
    pub error: Option<ParseError>,
    #[serde(default)]
    pub warnings: Vec<ParseWarning>,
    #[serde(default)]
    pub duration_ms: f64,
}

impl ParseResult {
    /// A failure found outside the child (timeout seen by the host, a dead
    /// server, an unreadable answer).
    pub fn failed(path: &str, kind: ParseErrorKind, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            ok: false,
            dags: Vec::new(),
            error: Some(ParseError {
                kind,
                message: message.into(),
                line: None,
                traceback: String::new(),
            }),
            warnings: Vec::new(),
            duration_ms: 0.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub message: String,
    pub line: Option<i32>,
    #[serde(default)]
    pub traceback: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParseErrorKind {
    Exception,
    ImportUnsupported,
    Timeout,
    Crashed,
    Exit,
    TooMuchOutput,
    Cycle,
    DuplicateTaskId,
    InvalidDag,
    /// The processor itself could not get an answer for the file.
    Processor,
}

impl ParseErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exception => "exception",
            Self::ImportUnsupported => "import_unsupported",
            Self::Timeout => "timeout",
            Self::Crashed => "crashed",
            Self::Exit => "exit",
            Self::TooMuchOutput => "too_much_output",
            Self::Cycle => "cycle",
            Self::DuplicateTaskId => "duplicate_task_id",
            Self::InvalidDag => "invalid_dag",
            Self::Processor => "processor",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ParseWarning {
    pub dag_id: String,
    #[serde(default)]
    pub task_id: Option<String>,
    pub kind: String,
    pub message: String,
}
