//! Before an operator runs: clear the try's old XComs, build the template
//! context from the run, render the task's template fields and store them
//! (masked) for the UI.

use std::sync::Arc;

use serde_json::{Map, Value as Json};
use updraft_core::model::mapping::ExpandInput;
use updraft_core::store::ti_state::{Fence, TiRow};
use updraft_core::store::{dag_runs, rendered_fields, xcom};
use updraft_core::timetable::DataInterval;

use crate::serialized::params;
use crate::task::{Task, TaskEnv};
use crate::templates::{
    ContextInputs, Dialect, InMemoryData, RenderOptions, SecretSet, TemplateContext, render_field,
};

/// A try's context and rendered fields, ready for its operator.
#[derive(Debug)]
pub struct Prepared {
    pub inputs: ContextInputs,
    pub raw: Map<String, Json>,
    pub rendered: Map<String, Json>,
    pub template_ext: Vec<String>,
    pub secrets: Vec<SecretSet>,
    /// A mapped task instance's own arguments (already overlaid on `raw`).
    pub expand_input: Option<Map<String, Json>>,
    /// The XComs (pulled form), Variables and Connections read for this try.
    pub data: Arc<InMemoryData>,
}

/// Why a try could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepareError {
    /// The database failed (it may be restarting): not the task's fault,
    /// worth another attempt.
    Database(String),
    /// The task's own problem (a bad template, a missing run…): the try fails.
    Task(String),
}

impl std::fmt::Display for PrepareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Database(m) | Self::Task(m) => f.write_str(m),
        }
    }
}

impl From<String> for PrepareError {
    fn from(message: String) -> Self {
        Self::Task(message)
    }
}

/// A database failure while `doing` something.
pub fn db_error(doing: &str) -> impl FnOnce(&dyn std::fmt::Display) -> PrepareError + '_ {
    move |e| PrepareError::Database(format!("{doing}: {e}"))
}

pub async fn prepare(
    env: &TaskEnv,
    ti: &TiRow,
    fence: Fence,
    t: &Task,
) -> Result<Prepared, PrepareError> {
    let mut conn = env
        .pool
        .acquire()
        .await
        .map_err(|e| db_error("connecting to the database")(&e))?;
    xcom::clear_for_ti(&mut conn, ti.id)
        .await
        .map_err(|e| db_error("clearing the try's XComs")(&e))?;
    let run = dag_runs::get(&mut conn, &ti.dag_id, &ti.run_id)
        .await
        .map_err(|e| db_error("reading the DAG run")(&e))?
        .ok_or_else(|| format!("DAG run {} not found", ti.run_id))?;
    let data_interval = match (run.data_interval_start, run.data_interval_end) {
        (Some(start), Some(end)) => Some(DataInterval { start, end }),
        _ => None,
    };
    let inputs = ContextInputs {
        dag_id: ti.dag_id.clone(),
        task_id: ti.task_id.clone(),
        run_id: ti.run_id.clone(),
        logical_date: run.logical_date,
        data_interval,
        external_trigger: run.run_type == "manual",
        conf: run.conf.clone(),
        params: params(&t.dag, &t.task),
        try_number: u32::try_from(ti.try_number).unwrap_or(1),
        map_index: i64::from(ti.map_index),
        dialect: Dialect::from_serialized(t.dag.get("dialect").and_then(Json::as_str)),
    };
    let xcom_rows = xcom::list_for_run(&mut conn, &ti.dag_id, &ti.run_id)
        .await
        .map_err(|e| db_error("reading XComs")(&e))?;
    let expand_input = mapped_element(t, ti.map_index, &xcom_rows)?;
    let data = crate::store_data::snapshot(&mut conn, &ti.dag_id, &ti.run_id, &xcom_rows)
        .await
        .map_err(|e| db_error("reading XComs, variables and connections")(&e))?;
    let data = Arc::new(data);
    let ctx = TemplateContext::new(inputs.clone(), data.clone());
    let strings = |v: Option<&Json>| -> Vec<String> {
        v.and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let template_ext = strings(t.task.get("template_ext"));
    let mut options = RenderOptions::for_dag(&t.dag, template_ext.clone());
    let calls_python = options.calls_python();
    if calls_python {
        let fileloc = t
            .dag
            .get("fileloc")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let kind = t
            .task
            .get("operator_kind")
            .and_then(Json::as_str)
            .unwrap_or_default();
        options.python = Some(Arc::new(crate::python_macros::RunnerMacros::new(
            fileloc.to_owned(),
            kind.to_owned(),
            &inputs,
        )));
    }
    let mut raw = t
        .task
        .get("fields")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(element) = &expand_input {
        overlay_element(&mut raw, element, is_decorated(t));
    }
    if let Some(group) = crate::mapped_group::of(t) {
        group.apply(&mut raw, ti.map_index, &xcom_rows)?;
    }
    let fields: Vec<(String, Json)> = strings(t.task.get("template_fields"))
        .into_iter()
        .filter_map(|name| raw.get(&name).map(|v| (name, v.clone())))
        .collect();
    let render_all = move || -> Result<RenderedFields, String> {
        let (mut rendered, mut masked, mut secrets) = (Map::new(), Map::new(), Vec::new());
        for (name, value) in fields {
            let r = render_field(&value, &ctx, &options)
                .map_err(|e| format!("rendering {name}: {e}"))?;
            masked.insert(name.clone(), r.masked());
            rendered.insert(name, r.value);
            secrets.push(r.secrets);
        }
        Ok((rendered, masked, secrets))
    };
    // Python macros block on the task runner while rendering: off the
    // async threads then.
    let (rendered, masked, secrets) = if calls_python {
        tokio::task::spawn_blocking(render_all)
            .await
            .map_err(|e| format!("rendering: {e}"))??
    } else {
        render_all()?
    };
    let stored = rendered_fields::set(&mut conn, fence, &Json::Object(masked))
        .await
        .map_err(|e| db_error("storing rendered fields")(&e))?;
    if !stored {
        return Err(PrepareError::Task(
            "this try no longer owns the task instance".into(),
        ));
    }
    Ok(Prepared {
        inputs,
        raw,
        rendered,
        template_ext,
        secrets,
        expand_input,
        data,
    })
}

/// Rendered template fields, the same masked (to store), and the secrets read.
type RenderedFields = (Map<String, Json>, Map<String, Json>, Vec<SecretSet>);

/// A TaskFlow (`@task`…) task: its mapped arguments are the function's.
fn is_decorated(t: &Task) -> bool {
    t.task
        .get("python")
        .and_then(|p| p.get("decorator"))
        .is_some_and(|d| !d.is_null())
}

/// The arguments of mapped task instance `map_index` (`None` for a task
/// that is not mapped, or its unexpanded instance).
fn mapped_element(
    t: &Task,
    map_index: i32,
    xcoms: &[xcom::XComRow],
) -> Result<Option<Map<String, Json>>, String> {
    let (Some(input), Ok(index)) = (ExpandInput::from_task(&t.task), usize::try_from(map_index))
    else {
        return Ok(None);
    };
    let resolved = input
        .resolve(|(task_id, key)| xcom::pulled(xcoms, task_id, key))
        .map_err(|e| format!("resolving the mapped arguments: {e}"))?;
    resolved.element(index).map(Some).ok_or_else(|| {
        format!(
            "map index {index} is out of range: the task maps over {} values now",
            resolved.len()
        )
    })
}

/// Puts a mapped element's arguments where the operator reads them: a
/// TaskFlow function's go into `op_kwargs`, an operator's are its fields.
fn overlay_element(raw: &mut Map<String, Json>, element: &Map<String, Json>, decorated: bool) {
    if decorated {
        let kwargs = raw
            .entry("op_kwargs")
            .or_insert_with(|| Json::Object(Map::new()));
        if !kwargs.is_object() {
            *kwargs = Json::Object(Map::new());
        }
        if let Json::Object(m) = kwargs {
            m.extend(element.clone());
        }
    } else {
        raw.extend(element.clone());
    }
}
