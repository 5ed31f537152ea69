//! The Python task runner child (`updraft __task-runner`): an embedded
//! interpreter with the compatibility package imported once, which forks one
//! child per task (`updraft_runtime.task_runner.serve`) and speaks JSON lines
//! with the worker on stdin/stdout. Single-threaded, so forking is safe; the
//! worker never links libpython (docs/adr/0004-python-task-runner.md).

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::PythonError;

/// Runs the task runner until stdin closes. `compat_dir` is the extracted
/// compatibility package (first on `sys.path`); `dags_folder` follows it, as
/// in Airflow, so DAG files can import their helper modules.
pub fn run_task_server(
    compat_dir: &std::path::Path,
    dags_folder: Option<&std::path::Path>,
) -> Result<(), PythonError> {
    Python::initialize();
    Python::attach(|py| -> PyResult<()> {
        let sys = py.import("sys")?;
        let path = sys.getattr("path")?.cast_into::<PyList>()?;
        path.insert(0, compat_dir.to_string_lossy().as_ref())?;
        if let Some(folder) = dags_folder {
            path.insert(1, folder.to_string_lossy().as_ref())?;
        }
        py.import("updraft_runtime.task_runner")?
            .getattr("serve")?
            .call1((0, 1))?;
        Ok(())
    })
    .map_err(|e| PythonError::Python(e.to_string()))
}
