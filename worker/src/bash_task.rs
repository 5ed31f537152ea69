//! A serialized BashOperator task's rendered fields → [`BashSpec`], and its
//! [`BashOutcome`] → how the try ends; [`run`] runs one try.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value as Json};

use crate::dispatch::TryCtx;
use crate::log_sink::Filtered;
use crate::operators::bash::{
    self, BashOutcome, BashSpec, CommandKind, DEFAULT_SKIP_EXIT_CODE, RunLimits,
};
use crate::outcome::{Ended, Outcome};
use crate::templates::{ContextInputs, Dialect};

/// The spec of a bash task. `raw` are the serialized (unrendered) fields,
/// `rendered` the template fields after rendering.
pub fn spec(
    raw: &Map<String, Json>,
    rendered: &Map<String, Json>,
    template_ext: &[String],
    inputs: &ContextInputs,
    owner: &str,
) -> Result<BashSpec, String> {
    let field = |name: &str| rendered.get(name).or_else(|| raw.get(name));
    let command = match field("bash_command") {
        Some(Json::String(s)) => s.clone(),
        Some(other) => return Err(format!("bash_command must be a string, got {other}")),
        None => return Err("the task has no bash_command".into()),
    };
    // A command naming a `.sh`/`.bash` file was rendered from that file.
    let from_file = matches!(raw.get("bash_command"), Some(Json::String(s))
        if template_ext.iter().any(|e| s.ends_with(e.as_str())));
    let env = match field("env") {
        None | Some(Json::Null) => None,
        Some(Json::Object(m)) => Some(
            m.iter()
                .map(|(k, v)| (k.clone(), text(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
        Some(other) => return Err(format!("env must be a dict, got {other}")),
    };
    let mut spec = BashSpec::new(command);
    spec.kind = if from_file {
        CommandKind::ScriptFile
    } else {
        CommandKind::Inline
    };
    spec.env = env;
    spec.append_env = field("append_env").and_then(Json::as_bool).unwrap_or(false);
    spec.cwd = field("cwd").and_then(Json::as_str).map(PathBuf::from);
    spec.skip_on_exit_codes = skip_codes(raw.get("skip_on_exit_code"))?;
    if let Some(enc) = field("output_encoding").and_then(Json::as_str) {
        spec.output_encoding = enc.to_owned();
    }
    spec.context_env = context_env(inputs, owner);
    Ok(spec)
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Airflow's `skip_on_exit_code`: absent → 99, `None` → none, an int, or a
/// list/tuple/set of ints.
fn skip_codes(v: Option<&Json>) -> Result<Vec<i32>, String> {
    let ints = |items: &[Json]| -> Result<Vec<i32>, String> {
        items
            .iter()
            .map(|i| {
                i.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| format!("skip_on_exit_code: {i} is not an exit code"))
            })
            .collect()
    };
    match v {
        None => Ok(vec![DEFAULT_SKIP_EXIT_CODE]),
        Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => ints(items),
        Some(Json::Object(m)) => match m.get("__var") {
            Some(Json::Array(items)) => ints(items),
            _ => Err(format!(
                "skip_on_exit_code: unsupported value {}",
                Json::Object(m.clone())
            )),
        },
        Some(n) => ints(std::slice::from_ref(n)),
    }
}

/// The `AIRFLOW_CTX_*` variables Airflow exports to the command.
fn context_env(i: &ContextInputs, owner: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        env.insert(format!("AIRFLOW_CTX_{k}"), v);
    };
    put("DAG_OWNER", owner.to_owned());
    put("DAG_ID", i.dag_id.clone());
    put("TASK_ID", i.task_id.clone());
    put("TRY_NUMBER", i.try_number.to_string());
    put("DAG_RUN_ID", i.run_id.clone());
    if let Some(ld) = &i.logical_date {
        let ts = updraft_core::store::dag_runs::python_isoformat(*ld);
        if i.dialect == Dialect::V2 {
            put("EXECUTION_DATE", ts.clone());
        }
        put("LOGICAL_DATE", ts);
    }
    env
}

/// Maps a finished command: `do_xcom_push` pushes the last line (`""` when
/// there was none, as Airflow does).
pub fn ended(outcome: &BashOutcome, do_xcom_push: bool) -> (Outcome, String) {
    match outcome {
        BashOutcome::Success { last_line } => {
            let xcom = do_xcom_push.then(|| Json::String(last_line.clone().unwrap_or_default()));
            (
                Outcome::success(xcom),
                "Command exited with return code 0".into(),
            )
        }
        BashOutcome::Skipped { exit_code } => {
            (Outcome::skipped(), BashOutcome::skip_message(*exit_code))
        }
        BashOutcome::Failed { message, .. } => (Outcome::failed(), message.clone()),
    }
}

/// The task's `execution_timeout` (seconds in the serialized form).
pub fn timeout(task: &Json) -> Option<Duration> {
    task.get("execution_timeout")
        .and_then(Json::as_f64)
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
}

/// Runs a BashOperator try: the rendered command in bash, its output
/// streamed (masked) to the task log.
pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    let (ti, t, p, sink, lost) = (cx.ti, cx.task, cx.prepared, cx.sink, cx.lost);
    let owner = t
        .task
        .get("owner")
        .and_then(Json::as_str)
        .unwrap_or("airflow");
    let spec = match spec(&p.raw, &p.rendered, &p.template_ext, &p.inputs, owner) {
        Ok(spec) => spec,
        Err(msg) => {
            sink.error(&msg);
            return Outcome::failed();
        }
    };
    let secrets = p.secrets.clone();
    let masked = Filtered::new(sink, move |l: &str| {
        secrets.iter().fold(l.to_owned(), |acc, s| s.mask(&acc))
    });
    sink.info(&format!("Running command for {}", ti.task_id));
    let limits = RunLimits {
        timeout: timeout(&t.task),
        ..RunLimits::default()
    };
    let push = t
        .task
        .get("do_xcom_push")
        .and_then(Json::as_bool)
        .unwrap_or(true);
    match bash::run_bash(&spec, &masked, limits, lost.notified()).await {
        Ok(outcome) => {
            let (ended, msg) = ended(&outcome, push);
            match ended.ended {
                Ended::Failed => sink.error(&msg),
                _ => sink.info(&msg),
            }
            ended
        }
        Err(e) => {
            sink.error(&e.to_string());
            Outcome::failed()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // Airflow's skip_on_exit_code shapes: absent, None, int, list, tuple.
    #[test]
    fn skip_code_shapes() {
        assert_eq!(skip_codes(None), Ok(vec![99]));
        assert_eq!(skip_codes(Some(&Json::Null)), Ok(vec![]));
        assert_eq!(skip_codes(Some(&json!(3))), Ok(vec![3]));
        assert_eq!(skip_codes(Some(&json!([1, 2]))), Ok(vec![1, 2]));
        assert_eq!(
            skip_codes(Some(&json!({"__type": "tuple", "__var": [4]}))),
            Ok(vec![4])
        );
        assert!(skip_codes(Some(&json!("x"))).is_err());
    }

    // Only a successful command pushes, and pushes "" when it printed nothing.
    #[test]
    fn outcomes_map_to_states() {
        let ok = BashOutcome::Success { last_line: None };
        assert_eq!(ended(&ok, true).0, Outcome::success(Some(json!(""))));
        assert_eq!(ended(&ok, false).0, Outcome::success(None));
        assert_eq!(
            ended(&BashOutcome::Skipped { exit_code: 99 }, true).0,
            Outcome::skipped()
        );
    }
}
