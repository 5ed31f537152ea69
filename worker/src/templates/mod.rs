//! Jinja templating with Airflow's context and semantics (reference §5):
//! the context keys per dialect, `ti.xcom_pull`, `var`, `conn`, `macros`, the
//! date filters, `template_ext` files, native rendering and secret masking.
//!
//! Pure: no database and no I/O besides reading template files from the given
//! search path. XComs, Variables and Connections come through [`TemplateData`].

mod accessors;
mod context;
mod data;
mod env;
mod mask;
mod native;
mod pyobj;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_render;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use minijinja::ErrorKind;
use serde_json::Value as Json;

pub use context::{ContextInputs, DataInterval, Dialect, TemplateContext};
pub use data::{ConnectionInfo, InMemoryData, TemplateData, XComKey};
pub use mask::{SENSITIVE_FIELDS, SecretSet, is_sensitive_key, mask_secrets};
pub use native::literal_eval;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TemplateError {
    /// Jinja's StrictUndefined: `'name' is undefined`.
    #[error("'{name}' is undefined")]
    Undefined { name: String },
    #[error("TemplateNotFound: {0}")]
    NotFound(String),
    #[error("XComNotFound: task {task_id:?} key {key:?}")]
    XComNotFound { task_id: String, key: String },
    #[error("{0}")]
    Render(String),
}

/// How a task's fields are rendered.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// The operator's `template_ext` (e.g. `[".sh", ".bash"]`).
    pub template_ext: Vec<String>,
    /// The DAG file's folder, then the DAG's `template_searchpath`.
    pub search_path: Vec<PathBuf>,
    /// The DAG's `render_template_as_native_obj`.
    pub native: bool,
    /// The DAG's `user_defined_macros` (serialized values; a Python function
    /// is `{"__type": "callable"}`): Jinja globals, as in Airflow.
    pub user_macros: serde_json::Map<String, Json>,
    /// The names of the DAG's `user_defined_filters` (Python functions).
    pub user_filters: Vec<String>,
    /// Calls the DAG's Python macros and filters; `None`: they fail saying
    /// they cannot be called.
    pub python: Option<Arc<dyn PythonCallables>>,
}

/// Runs a DAG's user-defined macro or filter function in Python (blocking:
/// templates render synchronously).
pub trait PythonCallables: std::fmt::Debug + Send + Sync {
    /// `kind` is `macro` or `filter`; `args` are JSON (a filter's value first).
    fn call(&self, kind: &'static str, name: &str, args: Vec<Json>) -> Result<Json, String>;
}

impl RenderOptions {
    /// The options a DAG's serialized form sets, with the operator's
    /// `template_ext`: the search path (the DAG file's folder, then
    /// `template_searchpath`), native rendering and user macros/filters.
    pub fn for_dag(dag: &Json, template_ext: Vec<String>) -> Self {
        let strings = |v: Option<&Json>| -> Vec<String> {
            v.and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        };
        let mut search_path: Vec<PathBuf> = dag
            .get("fileloc")
            .and_then(Json::as_str)
            .and_then(|f| std::path::Path::new(f).parent())
            .map(std::path::Path::to_path_buf)
            .into_iter()
            .collect();
        search_path.extend(
            strings(dag.get("template_searchpath"))
                .into_iter()
                .map(PathBuf::from),
        );
        Self {
            template_ext,
            search_path,
            native: dag
                .get("render_template_as_native_obj")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            user_macros: dag
                .get("user_defined_macro_values")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default(),
            user_filters: strings(dag.get("user_defined_filters")),
            python: None,
        }
    }

    /// Whether rendering may call Python (the DAG has a function macro or
    /// any filter).
    pub fn calls_python(&self) -> bool {
        !self.user_filters.is_empty()
            || self
                .user_macros
                .values()
                .any(|v| v.get("__type").and_then(Json::as_str) == Some("callable"))
    }
}

/// A rendered field, and the secrets read while rendering it (to mask the
/// value before it is stored or shown, and the task's logs).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedValue {
    pub value: Json,
    pub secrets: SecretSet,
}

impl RenderedValue {
    /// The value with the secrets replaced by `***`, for display.
    pub fn masked(&self) -> Json {
        self.secrets.mask_json(&self.value)
    }
}

struct Renderer<'a> {
    env: minijinja::Environment<'static>,
    ctx: minijinja::Value,
    data: &'a dyn TemplateData,
    inputs: &'a ContextInputs,
    options: &'a RenderOptions,
}

/// Renders one raw (tagged-encoded) field value: strings, and strings inside
/// lists, tuples, sets and dict values; `literal` values are left alone and
/// `xcomarg` values are resolved.
pub fn render_field(
    value: &Json,
    ctx: &TemplateContext,
    options: &RenderOptions,
) -> Result<RenderedValue, TemplateError> {
    let recording = Arc::new(mask::Recording {
        inner: ctx.data.clone(),
        seen: Mutex::new(SecretSet::default()),
    });
    let recorded = TemplateContext::new(ctx.inputs.clone(), recording.clone());
    let r = Renderer {
        env: env::build(options),
        ctx: recorded.to_value(),
        data: recording.as_ref(),
        inputs: &ctx.inputs,
        options,
    };
    let value = r.render(value)?;
    Ok(RenderedValue {
        value,
        secrets: recording.secrets(),
    })
}

/// Renders one template string to text (no `template_ext`, no native mode).
pub fn render_str(source: &str, ctx: &TemplateContext) -> Result<String, TemplateError> {
    let options = RenderOptions::default();
    match render_field(&Json::String(source.into()), ctx, &options)?.value {
        Json::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

impl Renderer<'_> {
    fn render(&self, value: &Json) -> Result<Json, TemplateError> {
        Ok(match value {
            Json::String(s) => {
                let text = self.render_string(s)?;
                match self.options.native {
                    true => literal_eval(&text).unwrap_or(Json::String(text)),
                    false => Json::String(text),
                }
            }
            Json::Array(items) => Json::Array(self.render_all(items)?),
            Json::Object(map) => match (map.get("__type").and_then(Json::as_str), map.get("__var"))
            {
                (Some("tuple" | "set"), Some(Json::Array(items))) => {
                    let mut out = map.clone();
                    out.insert("__var".into(), Json::Array(self.render_all(items)?));
                    Json::Object(out)
                }
                (Some("literal"), Some(inner)) => inner.clone(),
                (Some("xcomarg"), Some(arg)) => self.resolve_xcomarg(arg)?,
                (Some(_), Some(_)) => value.clone(),
                _ => {
                    let mut out = serde_json::Map::new();
                    for (k, v) in map {
                        out.insert(k.clone(), self.render(v)?);
                    }
                    Json::Object(out)
                }
            },
            other => other.clone(),
        })
    }

    fn render_all(&self, items: &[Json]) -> Result<Vec<Json>, TemplateError> {
        items.iter().map(|v| self.render(v)).collect()
    }

    fn resolve_xcomarg(&self, arg: &Json) -> Result<Json, TemplateError> {
        let field = |k: &str| arg.get(k).and_then(Json::as_str).map(str::to_string);
        let task_id = field("task_id").unwrap_or_default();
        let key = field("key").unwrap_or_else(|| "return_value".into());
        let xkey = XComKey {
            dag_id: self.inputs.dag_id.clone(),
            run_id: self.inputs.run_id.clone(),
            task_id: task_id.clone(),
            key: key.clone(),
        };
        self.data
            .xcom(&xkey)
            .ok_or(TemplateError::XComNotFound { task_id, key })
    }

    /// A value ending with one of `template_ext` names a file (a trailing
    /// space after the name skips this, Airflow's well-known workaround).
    fn render_string(&self, source: &str) -> Result<String, TemplateError> {
        let is_file = self
            .options
            .template_ext
            .iter()
            .any(|e| source.ends_with(e.as_str()));
        let tmpl = if is_file {
            self.env.get_template(source)
        } else {
            self.env.template_from_str(source)
        }
        .map_err(|e| match e.kind() {
            ErrorKind::TemplateNotFound => TemplateError::NotFound(source.to_string()),
            _ => TemplateError::Render(error_text(&e)),
        })?;
        tmpl.render(&self.ctx).map_err(|e| match e.kind() {
            ErrorKind::UndefinedError => {
                let known = |n: &String| self.ctx.get_attr(n).is_ok_and(|v| !v.is_undefined());
                let mut names: Vec<String> = tmpl.undeclared_variables(false).into_iter().collect();
                names.sort();
                match names.into_iter().find(|n| !known(n)) {
                    Some(name) => TemplateError::Undefined { name },
                    None => TemplateError::Render(error_text(&e)),
                }
            }
            _ => TemplateError::Render(error_text(&e)),
        })
    }
}

fn error_text(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        text.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    text
}
