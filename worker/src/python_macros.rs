//! The DAG's Python macros and filters (`user_defined_macros` functions,
//! `user_defined_filters`) called from the native template renderer: each
//! call is one request to the warm Python task runner, whose child imports
//! the DAG file and calls the function with the template's arguments.

use serde_json::{Map, Value as Json};
use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::log_sink::MemorySink;
use crate::python_runner::{self, CallSpec, Mode, ResultState, TaskRequest};
use crate::templates::{ContextInputs, PythonCallables};

/// Seconds one macro or filter call may take.
const CALL_TIMEOUT: f64 = 60.0;

/// Calls through the runner; used from a blocking thread (rendering is
/// synchronous), so it blocks on the runtime `handle`.
#[derive(Debug)]
pub struct RunnerMacros {
    handle: Handle,
    template: TaskRequest,
}

impl RunnerMacros {
    pub fn new(fileloc: String, kind: String, inputs: &ContextInputs) -> Self {
        Self {
            handle: Handle::current(),
            template: TaskRequest {
                fileloc,
                dag_id: inputs.dag_id.clone(),
                task_id: inputs.task_id.clone(),
                run_id: inputs.run_id.clone(),
                kind,
                mode: Mode::Call,
                context: crate::python_task::context_data(inputs),
                rendered: Map::new(),
                xcoms: Vec::new(),
                variables: Map::new(),
                connections: Map::new(),
                expand_input: None,
                timeout: Some(CALL_TIMEOUT),
                call: None,
            },
        }
    }
}

impl PythonCallables for RunnerMacros {
    fn call(&self, kind: &'static str, name: &str, args: Vec<Json>) -> Result<Json, String> {
        let mut request = self.template.clone();
        request.call = Some(CallSpec {
            kind,
            name: name.to_owned(),
            args,
        });
        let (sink, never) = (MemorySink::new(), Notify::new());
        let result = self
            .handle
            .block_on(python_runner::run(&request, &never, &sink, &[]));
        match result.state {
            ResultState::Success => Ok(result.returned),
            _ => {
                let output = sink.lines().join("\n");
                Err(format!("{} {output}", result.message).trim().to_owned())
            }
        }
    }
}
