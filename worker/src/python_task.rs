//! Tasks whose code is Python, run by the Python task runner
//! ([`crate::python_runner`]): PythonOperator and `@task`, the branch and
//! short-circuit operators (their skip sets come from the serialized DAG,
//! `updraft_core::deps::branch`), `@task.bash` (the callable makes the
//! command, then the native bash path runs it), user operators' `execute`
//! (`custom`), one poke of PythonSensor / `@task.sensor` ([`poke`]), and the
//! virtualenv / external-Python operators (the task child runs the callable
//! in the other interpreter: `updraft_runtime/task_runner_venv.py`).

use std::sync::Arc;

use serde_json::{Map, Value as Json, json};
use updraft_core::deps::branch::{BranchGraph, followed_ids};
use updraft_core::store::dag_runs::python_isoformat;

use crate::bash_task;
use crate::dispatch::TryCtx;
use crate::outcome::{Ended, Outcome, Poke};
use crate::prepare::Prepared;
use crate::python_runner::{
    self, ContextData, Mode, PokeResult, ResultState, TaskRequest, TaskResult, XComRow,
};
use crate::templates::{
    ContextInputs, Dialect, RenderOptions, SecretSet, TemplateContext, render_field,
};

/// Airflow's `XCOM_SKIPMIXIN_KEY`: what a branching task followed or skipped.
const SKIPMIXIN_KEY: &str = "skipmixin_key";

/// Runs a Python try by its `operator_kind`.
pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    let kind = cx.kind();
    let result = match execute(cx, Mode::Execute).await {
        Ok(r) => r,
        Err(msg) => {
            cx.sink.error(&msg);
            return Outcome::failed();
        }
    };
    let mut outcome = ended(cx, &result);
    if outcome.ended != Ended::Success {
        return outcome;
    }
    match kind {
        // The virtualenv / external-Python variants branch the same way.
        "branch_python" | "branch_python_virtualenv" | "branch_external_python" => {
            branch(cx, &result, &mut outcome);
        }
        "short_circuit" => short_circuit(cx, &result, &mut outcome),
        "bash" => return bash(cx, &result, outcome).await,
        _ => {}
    }
    outcome
}

/// One poke of PythonSensor / `@task.sensor` (or a user sensor's `poke`).
pub async fn poke(cx: &TryCtx<'_>) -> Poke {
    let result = match execute(cx, Mode::Poke).await {
        Ok(r) => r,
        Err(msg) => {
            cx.sink.error(&msg);
            return Poke::Ended(Outcome::failed());
        }
    };
    if result.state != ResultState::Success {
        return Poke::Ended(ended(cx, &result));
    }
    if result.poke.is_none() {
        cx.sink
            .error("the Python task runner returned no poke result");
    }
    poke_of(result.poke)
}

/// A successful poke's answer: `PokeReturnValue(is_done, xcom_value)` or a
/// bool (no XCom then).
fn poke_of(poke: Option<PokeResult>) -> Poke {
    match poke {
        Some(p) if p.done => Poke::Done {
            xcom: (!p.xcom.is_null()).then_some(p.xcom),
        },
        Some(_) => Poke::NotYet,
        None => Poke::Ended(Outcome::failed()),
    }
}

/// Builds the request and runs it in the runner, output streamed (masked).
async fn execute(cx: &TryCtx<'_>, mode: Mode) -> Result<TaskResult, String> {
    let request = request(cx, mode).await?;
    Ok(python_runner::run(&request, cx.lost, cx.sink, &cx.prepared.secrets).await)
}

/// The context inputs as the runner takes them.
pub(crate) fn context_data(i: &ContextInputs) -> ContextData {
    let interval = i.data_interval.as_ref();
    ContextData {
        logical_date: i.logical_date.map(python_isoformat),
        data_interval_start: interval.map(|d| python_isoformat(d.start)),
        data_interval_end: interval.map(|d| python_isoformat(d.end)),
        conf: i.conf.clone(),
        params: i.params.clone(),
        try_number: i.try_number,
        map_index: i.map_index,
        dialect: if i.dialect == Dialect::V3 { "3" } else { "2" },
        run_type: if i.external_trigger {
            "manual"
        } else {
            "scheduled"
        },
    }
}

pub(crate) async fn request(cx: &TryCtx<'_>, mode: Mode) -> Result<TaskRequest, String> {
    let (ti, p) = (cx.ti, cx.prepared);
    let fileloc = cx
        .task
        .dag
        .get("fileloc")
        .and_then(Json::as_str)
        .ok_or("the serialized DAG has no fileloc")?
        .to_owned();
    let data = p.data.as_ref().clone();
    let i = &p.inputs;
    Ok(TaskRequest {
        fileloc,
        dag_id: ti.dag_id.clone(),
        task_id: ti.task_id.clone(),
        run_id: ti.run_id.clone(),
        kind: cx.kind().to_owned(),
        mode,
        context: context_data(i),
        rendered: p.rendered.clone(),
        xcoms: data
            .xcoms
            .into_iter()
            .map(|(k, value)| XComRow {
                task_id: k.task_id,
                key: k.key,
                value,
            })
            .collect(),
        variables: data
            .variables
            .into_iter()
            .map(|(k, v)| (k, Json::String(v)))
            .collect(),
        connections: data
            .connections
            .into_iter()
            .map(|(id, c)| {
                let conn = json!({"conn_type": c.conn_type, "host": c.host, "login": c.login,
                    "password": c.password, "port": c.port, "schema": c.schema, "extra": c.extra});
                (id, conn)
            })
            .collect::<Map<_, _>>(),
        expand_input: p.expand_input.clone().map(Json::Object),
        timeout: bash_task::timeout(&cx.task.task).map(|d| d.as_secs_f64()),
        call: None,
    })
}

/// The runner's result → how the try ends (before branching).
pub(crate) fn ended(cx: &TryCtx<'_>, r: &TaskResult) -> Outcome {
    match r.state {
        ResultState::Success => Outcome {
            xcoms: r.xcoms.clone(),
            ..Outcome::of(Ended::Success)
        },
        ResultState::Skipped => {
            cx.sink.info(&r.message);
            Outcome::skipped()
        }
        ResultState::Failed => {
            cx.sink.error(&r.message);
            Outcome::failed()
        }
        ResultState::FailedNoRetry => {
            cx.sink.error(&r.message);
            Outcome::of(Ended::FailedNoRetry)
        }
    }
}

fn graph(cx: &TryCtx<'_>) -> Result<BranchGraph, String> {
    BranchGraph::from_serialized(&cx.task.dag)
}

/// BranchPythonOperator / `@task.branch`: skip the direct downstream tasks
/// not followed (Airflow's `skip_all_except`).
fn branch(cx: &TryCtx<'_>, r: &TaskResult, outcome: &mut Outcome) {
    let skips = followed_ids(&r.returned).and_then(|followed| {
        let skip = graph(cx)?.branch_skips(&cx.ti.task_id, &followed)?;
        Ok((followed, skip))
    });
    match skips {
        Ok((followed, skip)) => {
            cx.sink.info(&format!("Following branch {followed:?}"));
            if !skip.is_empty() {
                cx.sink.info(&format!("Skipping tasks {skip:?}"));
            }
            outcome
                .xcoms
                .push((SKIPMIXIN_KEY.into(), json!({"followed": followed})));
            outcome.skip = skip;
        }
        Err(msg) => {
            cx.sink.error(&msg);
            *outcome = Outcome::failed();
        }
    }
}

/// ShortCircuitOperator / `@task.short_circuit`: a falsy result skips every
/// downstream task, or only the direct ones when
/// `ignore_downstream_trigger_rules=False`.
fn short_circuit(cx: &TryCtx<'_>, r: &TaskResult, outcome: &mut Outcome) {
    if r.truthy {
        cx.sink.info("Proceeding with downstream tasks...");
        return;
    }
    let ignore = cx
        .prepared
        .raw
        .get("ignore_downstream_trigger_rules")
        .and_then(Json::as_bool)
        .unwrap_or(true);
    match graph(cx) {
        Ok(g) => {
            let skip = g.short_circuit_skips(&cx.ti.task_id, ignore);
            cx.sink.info(&format!("Skipping downstream tasks {skip:?}"));
            if !skip.is_empty() {
                outcome
                    .xcoms
                    .push((SKIPMIXIN_KEY.into(), json!({"skipped": skip})));
            }
            outcome.skip = skip;
        }
        Err(msg) => {
            cx.sink.error(&msg);
            *outcome = Outcome::failed();
        }
    }
}

/// `@task.bash`: the callable's string is the command. As in Airflow it is
/// rendered as a template (a `.sh`/`.bash` name loads that file), then run
/// natively; XComs the callable pushed are kept with the command's own.
async fn bash(cx: &TryCtx<'_>, r: &TaskResult, python: Outcome) -> Outcome {
    let Some(command) = r.returned.as_str() else {
        cx.sink
            .error("The returned value from the TaskFlow callable must be a non-empty string.");
        return Outcome::failed();
    };
    let p = cx.prepared;
    let (rendered_command, secrets) = match render_command(cx, command).await {
        Ok(r) => r,
        Err(msg) => {
            cx.sink.error(&msg);
            return Outcome::failed();
        }
    };
    let mut raw = p.raw.clone();
    raw.insert("bash_command".into(), Json::String(command.to_owned()));
    let mut rendered = p.rendered.clone();
    rendered.insert("bash_command".into(), rendered_command);
    let mut all_secrets = p.secrets.clone();
    all_secrets.push(secrets);
    let prepared = Prepared {
        inputs: p.inputs.clone(),
        raw,
        rendered,
        template_ext: p.template_ext.clone(),
        secrets: all_secrets,
        expand_input: p.expand_input.clone(),
        data: Arc::clone(&p.data),
    };
    let bash_cx = TryCtx {
        prepared: &prepared,
        ..*cx
    };
    let mut outcome = bash_task::run(&bash_cx).await;
    let mut xcoms = python.xcoms;
    xcoms.append(&mut outcome.xcoms);
    outcome.xcoms = xcoms;
    outcome
}

/// Renders the returned command with the task's context (Airflow's
/// `ti.render_templates()` after the callable ran).
async fn render_command(cx: &TryCtx<'_>, command: &str) -> Result<(Json, SecretSet), String> {
    let ctx = TemplateContext::new(cx.prepared.inputs.clone(), cx.prepared.data.clone());
    let dag = &cx.task.dag;
    // The same search path prepare.rs renders template fields with.
    // The same options prepare.rs renders template fields with.
    let options = RenderOptions::for_dag(dag, cx.prepared.template_ext.clone());
    let r = render_field(&Json::String(command.to_owned()), &ctx, &options)
        .map_err(|e| format!("rendering bash_command: {e}"))?;
    Ok((r.value, r.secrets))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A done poke carries its xcom_value; a bool poke none; not done waits.
    #[test]
    fn pokes_map_to_sensor_answers() {
        let done = |xcom: Json| Some(PokeResult { done: true, xcom });
        assert_eq!(
            poke_of(done(json!({"n": 2}))),
            Poke::Done {
                xcom: Some(json!({"n": 2}))
            }
        );
        assert_eq!(poke_of(done(Json::Null)), Poke::Done { xcom: None });
        let not_yet = Some(PokeResult {
            done: false,
            xcom: json!(1),
        });
        assert_eq!(poke_of(not_yet), Poke::NotYet);
        assert_eq!(poke_of(None), Poke::Ended(Outcome::failed()));
    }
}
