//! The sensor driver: Airflow's `BaseSensorOperator.execute` around one
//! poke function. Reads the task's `sensor` block (docs/serialized-dag.md)
//! and turns pokes ([`Poke`]) into how the try ends ([`Outcome`]).
//!
//! - **poke** mode pokes, sleeps `poke_interval` (or the exponential
//!   backoff), and repeats within one try-slot; the lease is kept by the
//!   worker's heartbeat and losing it stops the loop at once.
//! - **reschedule** mode pokes once per slot; not done gives the slot back
//!   (`Ended::Reschedule`). The timeout is measured from the first poke of the
//!   task's first try (`ti_state::first_poke_of_try`), as Airflow does, so it
//!   spans reschedules.
//! - the sensor **timeout** is `AirflowSensorTimeout`: failed without retry,
//!   or skipped with `soft_fail`. Exceptions from a poke follow Airflow 2.10 /
//!   3.1: `silent_fail` keeps poking after an ordinary error, `never_fail`
//!   skips on any error, `soft_fail` skips on fail/timeout exceptions.
//! - `execution_timeout` bounds one try-slot (`AirflowTaskTimeout`): failed,
//!   with retries; skipped under `soft_fail`/`never_fail` only when it
//!   struck inside a poke, where Airflow's poke handler catches it (not
//!   while sleeping between pokes).
//!
//! Depends on the worker's [`TryCtx`] only; each sensor supplies its poke.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value as Json;
use updraft_core::store::ti_state;

use crate::dispatch::TryCtx;
use crate::outcome::{Ended, Outcome, Poke};

/// Airflow's `[sensors] default_timeout` (7 days).
const DEFAULT_TIMEOUT: f64 = 604_800.0;
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// A task's `sensor` block, with Airflow's defaults for what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorSpec {
    pub poke_interval: f64,
    pub timeout: f64,
    pub reschedule: bool,
    pub soft_fail: bool,
    pub exponential_backoff: bool,
    pub max_wait: Option<f64>,
    pub silent_fail: bool,
    pub never_fail: bool,
}

impl SensorSpec {
    /// Reads `task["sensor"]`; a task without one (TriggerDagRun's wait, a
    /// custom kind) gets Airflow's defaults.
    pub fn from_task(task: &Json) -> Self {
        let s = task.get("sensor").filter(|s| s.is_object());
        let num = |k: &str| {
            s.and_then(|s| s.get(k))
                .and_then(Json::as_f64)
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let flag = |k: &str| s.and_then(|s| s.get(k)).and_then(Json::as_bool) == Some(true);
        Self {
            poke_interval: num("poke_interval").unwrap_or(DEFAULT_POKE_INTERVAL),
            timeout: num("timeout").unwrap_or(DEFAULT_TIMEOUT),
            reschedule: s.and_then(|s| s.get("mode")).and_then(Json::as_str) == Some("reschedule"),
            soft_fail: flag("soft_fail"),
            exponential_backoff: flag("exponential_backoff"),
            max_wait: num("max_wait"),
            silent_fail: flag("silent_fail"),
            never_fail: flag("never_fail"),
        }
    }

    /// What an exception from a poke does (`Poke::Ended`): `None` keeps
    /// poking (`silent_fail` on an ordinary error).
    pub fn on_poke_end(&self, outcome: Outcome) -> Option<Outcome> {
        match outcome.ended {
            // AirflowSensorTimeout / AirflowTaskTimeout / AirflowFailException.
            Ended::FailedNoRetry if self.soft_fail || self.never_fail => Some(Outcome::skipped()),
            // Any other exception.
            Ended::Failed if self.silent_fail => None,
            Ended::Failed if self.never_fail => Some(Outcome::skipped()),
            _ => Some(outcome),
        }
    }

    /// The sensor's own timeout: skipped with `soft_fail`, else failed
    /// without retry (Airflow does not apply `never_fail` here).
    pub fn timed_out(&self) -> Outcome {
        if self.soft_fail {
            Outcome::skipped()
        } else {
            Outcome::of(Ended::FailedNoRetry)
        }
    }

    /// `execution_timeout` struck (`AirflowTaskTimeout`): inside a poke the
    /// sensor's handler skips it under `soft_fail`/`never_fail`; anywhere
    /// else it is an ordinary, retried failure.
    pub fn execution_timed_out(&self, in_poke: bool) -> Outcome {
        if in_poke && (self.soft_fail || self.never_fail) {
            Outcome::skipped()
        } else {
            Outcome::failed()
        }
    }

    /// Seconds to wait before poke `poke_count + 1`: `poke_interval`, or
    /// Airflow's exponential backoff (`poke_interval * 2^(n-2)` plus a
    /// deterministic jitter below that, at least 1 s, capped by what is left
    /// of the timeout and by `max_wait`). `jitter_key` stands for Airflow's
    /// `dag_id#task_id#started_at`; the hash differs from Airflow's sha1, so
    /// the jitter is not the same number, only the same range.
    pub fn next_interval(&self, jitter_key: &str, poke_count: u32, run_duration: f64) -> f64 {
        if !self.exponential_backoff {
            return self.poke_interval;
        }
        let count = if self.reschedule {
            // One poke per slot: estimate how many pokes the elapsed time
            // holds (Airflow 3.1's reschedule-mode estimate).
            let mut n = 0u32;
            let mut total = 0.0;
            while total <= run_duration && n < 64 {
                n += 1;
                total += self.jittered(jitter_key, n);
            }
            n.max(1)
        } else {
            poke_count
        };
        let mut interval = self
            .jittered(jitter_key, count)
            .min(self.timeout - run_duration.floor());
        if let Some(max) = self.max_wait {
            interval = interval.min(max);
        }
        interval.max(0.0)
    }

    fn jittered(&self, jitter_key: &str, n: u32) -> f64 {
        let exp = f64::from(n.clamp(1, 60)) - 2.0;
        let min_backoff = (self.poke_interval * 2f64.powf(exp)).floor().max(1.0);
        let hash = fnv1a(&format!("{jitter_key}#{n}"));
        // `min_backoff` is at most ~2^60 here, so the cast keeps it exact enough.
        min_backoff + (hash % (min_backoff as u64).max(1)) as f64
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs a sensor try: pokes with `poke` until it is done, times out, fails,
/// or (reschedule mode) gives its slot back.
pub async fn drive<F, Fut>(cx: &TryCtx<'_>, poke: F) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Poke>,
{
    let spec = SensorSpec::from_task(&cx.task.task);
    let limit = crate::bash_task::timeout(&cx.task.task);
    let lost = cx.lost.notified();
    tokio::pin!(lost);
    let in_poke = AtomicBool::new(false);
    let work = poke_loop(cx, &spec, &in_poke, poke);
    let timed = async {
        match limit {
            Some(d) => tokio::time::timeout(d, work).await.ok(),
            None => Some(work.await),
        }
    };
    tokio::select! {
        _ = &mut lost => {
            cx.sink.error("The task's lease was lost: stopping the sensor");
            Outcome::failed()
        }
        done = timed => done.unwrap_or_else(|| {
            // AirflowTaskTimeout: a skip only inside a poke under soft_fail/never_fail.
            cx.sink.error(&format!(
                "Timeout: the sensor ran longer than its execution_timeout of {:?}",
                limit.unwrap_or_default()
            ));
            spec.execution_timed_out(in_poke.load(Ordering::Relaxed))
        }),
    }
}

/// When this sensor started, for its timeout: the first poke of the task's
/// first try in reschedule mode, else now.
async fn started_at(cx: &TryCtx<'_>, spec: &SensorSpec) -> DateTime<Utc> {
    let now = Utc::now();
    if !spec.reschedule {
        return now;
    }
    let retries = cx
        .task
        .task
        .get("retries")
        .and_then(Json::as_i64)
        .and_then(|r| i32::try_from(r).ok())
        .unwrap_or(0);
    // Airflow: the first try since the task was last cleared.
    let first_try = (cx.ti.max_tries - retries + 1).max(1);
    let found = async {
        let mut conn = cx.env.pool.acquire().await?;
        ti_state::first_poke_of_try(&mut conn, cx.ti.id, first_try).await
    }
    .await;
    match found {
        Ok(at) => at.unwrap_or(now).min(now),
        Err(e) => {
            cx.sink.error(&format!(
                "reading the sensor's first poke failed ({e}); timing from now"
            ));
            now
        }
    }
}

async fn poke_loop<F, Fut>(
    cx: &TryCtx<'_>,
    spec: &SensorSpec,
    in_poke: &AtomicBool,
    mut poke: F,
) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Poke>,
{
    let started = started_at(cx, spec).await;
    let mono = Instant::now();
    let run_duration = || {
        if spec.reschedule {
            (Utc::now() - started).as_seconds_f64()
        } else {
            mono.elapsed().as_secs_f64()
        }
    };
    let jitter_key = format!(
        "{}#{}#{}",
        cx.ti.dag_id,
        cx.ti.task_id,
        started.timestamp_micros()
    );
    let mut poke_count: u32 = 1;
    loop {
        in_poke.store(true, Ordering::Relaxed);
        let poked = poke().await;
        in_poke.store(false, Ordering::Relaxed);
        match poked {
            Poke::Done { xcom } => {
                cx.sink.info("Success criteria met. Exiting.");
                let push = cx.task.task.get("do_xcom_push").and_then(Json::as_bool) != Some(false);
                return Outcome::success(xcom.filter(|_| push));
            }
            Poke::NotYet => {}
            Poke::Ended(outcome) => match spec.on_poke_end(outcome) {
                Some(end) => return end,
                None => cx.sink.error("Sensor poke failed; silent_fail: poking on"),
            },
        }
        let elapsed = run_duration();
        if elapsed > spec.timeout {
            cx.sink.error(&format!(
                "Sensor has timed out; run duration of {elapsed} seconds exceeds the specified timeout of {}.",
                spec.timeout
            ));
            return spec.timed_out();
        }
        let wait = spec.next_interval(&jitter_key, poke_count, elapsed);
        if spec.exponential_backoff {
            let mode = if spec.reschedule {
                "reschedule"
            } else {
                "poke"
            };
            cx.sink.info(&format!("new {mode} interval is {wait}"));
        }
        if spec.reschedule {
            let at = Utc::now() + TimeDelta::milliseconds((wait * 1000.0) as i64);
            cx.sink.info(&format!(
                "Rescheduling task, marking task as UP_FOR_RESCHEDULE until {at}"
            ));
            return Outcome::of(Ended::Reschedule { at });
        }
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        poke_count = poke_count.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(sensor: Json) -> SensorSpec {
        SensorSpec::from_task(&json!({ "sensor": sensor }))
    }

    // Missing keys take Airflow's defaults; the serialized block is read as is.
    #[test]
    fn reads_the_sensor_block() {
        let d = SensorSpec::from_task(&json!({"sensor": null}));
        assert_eq!(
            (d.poke_interval, d.timeout, d.reschedule),
            (60.0, 604_800.0, false)
        );
        let s = spec(
            json!({"poke_interval": 0.5, "timeout": 3.0, "mode": "reschedule",
                            "soft_fail": true, "max_wait": 9.0}),
        );
        assert_eq!(
            (
                s.poke_interval,
                s.timeout,
                s.reschedule,
                s.soft_fail,
                s.max_wait
            ),
            (0.5, 3.0, true, true, Some(9.0))
        );
    }

    // Airflow's exception table: soft_fail skips fail/timeout exceptions,
    // never_fail skips everything, silent_fail keeps poking on ordinary errors.
    #[test]
    fn poke_exceptions_follow_airflow() {
        let fail = || Outcome::failed();
        let fatal = || Outcome::of(Ended::FailedNoRetry);
        let plain = spec(json!({}));
        assert_eq!(plain.on_poke_end(fail()), Some(fail()));
        assert_eq!(plain.on_poke_end(fatal()), Some(fatal()));
        let soft = spec(json!({"soft_fail": true}));
        assert_eq!(soft.on_poke_end(fatal()), Some(Outcome::skipped()));
        assert_eq!(soft.on_poke_end(fail()), Some(fail()));
        let never = spec(json!({"never_fail": true}));
        assert_eq!(never.on_poke_end(fail()), Some(Outcome::skipped()));
        assert_eq!(never.on_poke_end(fatal()), Some(Outcome::skipped()));
        let silent = spec(json!({"silent_fail": true}));
        assert_eq!(silent.on_poke_end(fail()), None);
        assert_eq!(silent.on_poke_end(fatal()), Some(fatal()));
        // The sensor's own timeout: only soft_fail turns it into a skip.
        assert_eq!(soft.timed_out(), Outcome::skipped());
        assert_eq!(never.timed_out(), fatal());
        // execution_timeout: a skip only when it struck inside a poke.
        assert_eq!(soft.execution_timed_out(true), Outcome::skipped());
        assert_eq!(soft.execution_timed_out(false), fail());
        assert_eq!(never.execution_timed_out(true), Outcome::skipped());
        assert_eq!(plain.execution_timed_out(true), fail());
    }

    // Backoff doubles per poke within [min, 2*min), capped by max_wait and
    // by what is left of the timeout; without it the interval is fixed.
    #[test]
    fn exponential_backoff_grows_and_is_capped() {
        let fixed = spec(json!({"poke_interval": 5.0}));
        assert_eq!(fixed.next_interval("k", 7, 0.0), 5.0);
        let exp =
            spec(json!({"poke_interval": 10.0, "exponential_backoff": true, "timeout": 1000.0}));
        for (n, min) in [(1u32, 5.0), (2, 10.0), (3, 20.0), (4, 40.0)] {
            let v = exp.next_interval("k", n, 0.0);
            assert!(v >= min && v < 2.0 * min, "poke {n}: {v}");
        }
        assert!(exp.next_interval("k", 10, 990.0) <= 10.0);
        let capped =
            spec(json!({"poke_interval": 10.0, "exponential_backoff": true, "max_wait": 15.0}));
        assert!(capped.next_interval("k", 8, 0.0) <= 15.0);
        let tiny = spec(json!({"poke_interval": 0.1, "exponential_backoff": true}));
        assert!(
            tiny.next_interval("k", 1, 0.0) >= 1.0,
            "at least one second"
        );
    }

    // Reschedule mode estimates the poke count from the elapsed time.
    #[test]
    fn reschedule_backoff_grows_with_elapsed_time() {
        let exp = spec(json!({"poke_interval": 10.0, "exponential_backoff": true,
                              "mode": "reschedule", "timeout": 100000.0}));
        let early = exp.next_interval("k", 1, 0.0);
        let late = exp.next_interval("k", 1, 500.0);
        assert!(late > early, "{early} then {late}");
    }
}
