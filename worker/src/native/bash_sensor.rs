//! BashSensor: each poke runs `bash_command` (through
//! [`crate::operators::bash`]); exit 0 is done. Another exit code is "not
//! yet", unless `retry_exit_code` is set: then only that code waits and any
//! other fails the task without retry (`AirflowFailException`).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{fail, field};
use crate::dispatch::TryCtx;
use crate::log_sink::Filtered;
use crate::operators::bash::{self, BashOutcome, BashSpec, CommandKind, RunLimits};
use crate::outcome::{Ended, Outcome, Poke};
use crate::sensor;

/// What a finished command means for the sensor (Airflow's BashSensor.poke).
pub fn poke_of(outcome: &BashOutcome, retry_exit_code: Option<i32>) -> Poke {
    match outcome {
        BashOutcome::Success { .. } => Poke::Done { xcom: None },
        BashOutcome::Skipped { .. } => Poke::NotYet,
        BashOutcome::Failed { exit_code, .. } => match retry_exit_code {
            None => Poke::NotYet,
            Some(code) if code == *exit_code => Poke::NotYet,
            Some(_) => Poke::Ended(Outcome::of(Ended::FailedNoRetry)),
        },
    }
}

fn spec(cx: &TryCtx<'_>) -> Result<(BashSpec, Option<i32>), String> {
    let command = match field(cx, "bash_command") {
        Some(Json::String(s)) => s.clone(),
        Some(other) => return Err(format!("bash_command must be a string, got {other}")),
        None => return Err("BashSensor needs bash_command".into()),
    };
    let mut spec = BashSpec::new(command);
    spec.kind = CommandKind::Inline;
    // BashSensor has no skip codes: every non-zero exit is "not yet" or a failure.
    spec.skip_on_exit_codes = Vec::new();
    spec.env = match field(cx, "env") {
        None => None,
        Some(Json::Object(m)) => Some(
            m.iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k.clone(), v)
                })
                .collect::<BTreeMap<_, _>>(),
        ),
        Some(other) => return Err(format!("env must be a dict, got {other}")),
    };
    if let Some(enc) = field(cx, "output_encoding").and_then(Json::as_str) {
        spec.output_encoding = enc.to_owned();
    }
    let retry = match field(cx, "retry_exit_code") {
        None => None,
        Some(v) => Some(
            v.as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| format!("retry_exit_code must be an exit code, got {v}"))?,
        ),
    };
    Ok((spec, retry))
}

/// `bash_sensor`.
pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    let (spec, retry) = match spec(cx) {
        Ok(s) => s,
        Err(e) => return fail(cx, &e),
    };
    let secrets = cx.prepared.secrets.clone();
    let masked = Filtered::new(cx.sink, move |l: &str| {
        secrets.iter().fold(l.to_owned(), |acc, s| s.mask(&acc))
    });
    let (spec, masked) = (&spec, &masked);
    sensor::drive(cx, || async move {
        // The driver owns the timeouts and the lease; a poke runs to its end.
        let never = std::future::pending::<()>();
        match bash::run_bash(spec, masked, RunLimits::default(), never).await {
            Ok(outcome) => {
                let code = match &outcome {
                    BashOutcome::Success { .. } => 0,
                    BashOutcome::Skipped { exit_code } | BashOutcome::Failed { exit_code, .. } => {
                        *exit_code
                    }
                };
                cx.sink
                    .info(&format!("Command exited with return code {code}"));
                let poke = poke_of(&outcome, retry);
                if let Poke::Ended(_) = poke {
                    cx.sink.error(&format!(
                        "Command exited with return code {code}, not the retry_exit_code"
                    ));
                }
                poke
            }
            Err(e) => {
                cx.sink.error(&e.to_string());
                Poke::Ended(Outcome::failed())
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: i32) -> BashOutcome {
        BashOutcome::Failed {
            exit_code: code,
            message: String::new(),
        }
    }

    // Airflow's BashSensor rules for exit codes, with and without retry_exit_code.
    #[test]
    fn exit_codes_map_to_pokes() {
        let ok = BashOutcome::Success { last_line: None };
        assert_eq!(poke_of(&ok, None), Poke::Done { xcom: None });
        assert_eq!(poke_of(&failed(1), None), Poke::NotYet);
        assert_eq!(poke_of(&failed(7), None), Poke::NotYet);
        assert_eq!(poke_of(&failed(2), Some(2)), Poke::NotYet);
        assert_eq!(
            poke_of(&failed(1), Some(2)),
            Poke::Ended(Outcome::of(Ended::FailedNoRetry))
        );
    }
}
