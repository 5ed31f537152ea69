//! The parse server child: an embedded interpreter with the compatibility
//! package imported once, which forks one short-lived child per DAG file
//! (`updraft_runtime.parse_server.serve`). It speaks JSON lines on
//! stdin/stdout with the DAG processor. This process is single-threaded, so
//! forking it is safe (unlike forking a tokio process that hosts Python).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::PythonError;

#[derive(Debug, Clone)]
pub struct ParseServerOptions {
    /// The extracted compatibility package (first on `sys.path`).
    pub compat_dir: PathBuf,
    /// A user virtualenv whose site-packages DAG files may import.
    pub venv: Option<PathBuf>,
}

/// Runs the parse server until stdin closes.
pub fn run_parse_server(options: &ParseServerOptions) -> Result<(), PythonError> {
    Python::initialize();
    Python::attach(|py| -> PyResult<()> {
        let sys = py.import("sys")?;
        let path = sys.getattr("path")?.cast_into::<PyList>()?;
        path.insert(0, options.compat_dir.to_string_lossy().as_ref())?;
        if let Some(venv) = &options.venv {
            add_venv(py, venv)?;
        }
        // One child at a time per server: the DAG processor runs one server per
        // core, and pipelines requests so the server can batch them.
        py.import("updraft_runtime.parse_server")?
            .getattr("serve")?
            .call1((0, 1, 1))?;
        Ok(())
    })
    .map_err(|e| PythonError::Python(e.to_string()))
}

/// Adds `<venv>/lib/python3.X/site-packages` with `site.addsitedir`, which
/// also honours `.pth` files (setting VIRTUAL_ENV alone does nothing).
fn add_venv(py: Python<'_>, venv: &std::path::Path) -> PyResult<()> {
    let version = py.version_info();
    let site_packages = venv
        .join("lib")
        .join(format!("python{}.{}", version.major, version.minor))
        .join("site-packages");
    if !site_packages.is_dir() {
        return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
            "dag_processor.python_venv: {} has no {} (make the venv with the interpreter \
             Updraft embeds: /usr/bin/python3 -m venv PATH)",
            venv.display(),
            site_packages.display()
        )));
    }
    py.import("site")?
        .getattr("addsitedir")?
        .call1((site_packages.to_string_lossy().as_ref(),))?;
    Ok(())
}
