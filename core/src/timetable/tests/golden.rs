//! Replays what real Airflow 2.10.5 and 3.1.8 scheduled
//! (`core/tests/timetable_golden/*.json`, written by
//! `scripts/golden/timetables.py`): every case must give the same timetable
//! class, summary, run sequence and manual data intervals, and every cron
//! primitive the same instant.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::model::serialized::Schedule;
use crate::timetable::*;

const AF210: &str = include_str!("../../../tests/timetable_golden/af210.json");
const AF31: &str = include_str!("../../../tests/timetable_golden/af31.json");

#[derive(Deserialize)]
struct Golden {
    airflow_version: String,
    dialect: String,
    cases: Vec<Case>,
    cron_primitives: Vec<Primitive>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    schedule: Schedule,
    trigger: Option<Trigger>,
    start_date: Option<String>,
    end_date: Option<String>,
    catchup: Option<bool>,
    catchup_by_default: bool,
    create_cron_data_intervals: bool,
    effective_catchup: bool,
    timetable: String,
    summary: String,
    description: String,
    now: String,
    advance: i64,
    last: Option<[String; 2]>,
    runs: Vec<Option<Run>>,
    manual: Vec<Manual>,
}

#[derive(Deserialize)]
struct Trigger {
    interval: f64,
    run_immediately: Option<Value>,
}

#[derive(Deserialize)]
struct Run {
    logical_date: String,
    start: String,
    end: String,
    run_after: String,
    now: String,
}

#[derive(Deserialize)]
struct Manual {
    run_after: String,
    start: String,
    end: String,
}

#[derive(Deserialize)]
struct Primitive {
    expr: String,
    timezone: String,
    points: Vec<Point>,
}

#[derive(Deserialize)]
struct Point {
    at: String,
    next: String,
    prev: String,
    align_next: String,
    align_prev: String,
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("golden datetime {s:?}: {e}"))
        .to_utc()
}

fn trigger_options(trigger: Option<&Trigger>) -> TriggerOptions {
    let Some(trigger) = trigger else {
        return TriggerOptions::default();
    };
    let run_immediately = match &trigger.run_immediately {
        None | Some(Value::Bool(false)) => RunImmediately::No,
        Some(Value::Bool(true)) => RunImmediately::Yes,
        Some(Value::Null) => RunImmediately::Auto,
        Some(v) => RunImmediately::Within(TimeDelta::milliseconds(
            (v.as_f64().expect("run_immediately seconds") * 1000.0) as i64,
        )),
    };
    TriggerOptions {
        interval: Delta::from_seconds(trigger.interval).expect("interval"),
        run_immediately,
    }
}

/// Checks one case; returns what differs from Airflow.
fn check_case(case: &Case, dialect: Dialect) -> Vec<String> {
    let mut errors = Vec::new();
    let mut fail = |msg: String| errors.push(format!("{}: {msg}", case.name));
    let defaults = ScheduleDefaults {
        catchup_by_default: case.catchup_by_default,
        create_cron_data_intervals: case.create_cron_data_intervals,
    };
    let timing = DagTiming {
        schedule: &case.schedule,
        dialect,
        start_date: case.start_date.as_deref().map(t),
        end_date: case.end_date.as_deref().map(t),
        catchup: case.catchup,
        trigger: trigger_options(case.trigger.as_ref()),
    };
    let dag = match DagSchedule::new(&timing, &defaults) {
        Ok(dag) => dag,
        Err(e) => {
            fail(format!("building the timetable failed: {e}"));
            return errors;
        }
    };
    let tt = &dag.timetable;
    if tt.class_name() != case.timetable {
        fail(format!("class {} != {}", tt.class_name(), case.timetable));
    }
    if tt.summary() != case.summary {
        fail(format!("summary {:?} != {:?}", tt.summary(), case.summary));
    }
    let is_cron = matches!(
        tt.kind,
        TimetableKind::CronDataInterval(_) | TimetableKind::CronTrigger { .. }
    );
    if !is_cron && tt.description() != case.description {
        fail(format!(
            "description {:?} != {:?}",
            tt.description(),
            case.description
        ));
    }
    if dag.restriction.catchup != case.effective_catchup {
        fail(format!(
            "catchup {} != {}",
            dag.restriction.catchup, case.effective_catchup
        ));
    }
    let mut now = t(&case.now);
    let mut last = case.last.as_ref().map(|[s, e]| DataInterval {
        start: t(s),
        end: t(e),
    });
    for (step, expected) in case.runs.iter().enumerate() {
        let got = dag.next_dagrun_info(last.as_ref(), now);
        let want = expected.as_ref().map(|r| {
            assert_eq!(t(&r.now), now, "{}: the walk's clock drifted", case.name);
            RunInfo {
                logical_date: t(&r.logical_date),
                data_interval: DataInterval {
                    start: t(&r.start),
                    end: t(&r.end),
                },
                run_after: t(&r.run_after),
            }
        });
        if got != want {
            fail(format!(
                "step {step} at now={now}: got {got:?}, Airflow {want:?}"
            ));
            break;
        }
        let Some(info) = got else { break };
        last = Some(info.data_interval);
        if case.advance > 0 {
            now = now.max(info.run_after + TimeDelta::seconds(case.advance));
        }
    }
    for m in &case.manual {
        let got = tt.infer_manual_data_interval(t(&m.run_after));
        let want = DataInterval {
            start: t(&m.start),
            end: t(&m.end),
        };
        if got != want {
            fail(format!(
                "manual at {}: got {got:?}, Airflow {want:?}",
                m.run_after
            ));
        }
    }
    errors
}

fn check_primitives(p: &Primitive) -> Vec<String> {
    let zone = Zone::parse(&p.timezone).expect("zone");
    let cron = CronExpr::parse(&p.expr, zone).expect("cron");
    let mut errors = Vec::new();
    for point in &p.points {
        let at = t(&point.at);
        let checks = [
            ("next", cron.get_next(at), &point.next),
            ("prev", cron.get_prev(at), &point.prev),
            ("align_next", cron.align_to_next(at), &point.align_next),
            ("align_prev", cron.align_to_prev(at), &point.align_prev),
        ];
        for (what, got, want) in checks {
            if got != Some(t(want)) {
                errors.push(format!(
                    "{} in {} {what}({at}): got {got:?}, Airflow {want}",
                    p.expr, p.timezone
                ));
            }
        }
    }
    errors
}

fn check_golden(text: &str, version: &str) {
    let golden: Golden = serde_json::from_str(text).expect("golden JSON");
    assert_eq!(golden.airflow_version, version);
    let dialect = Dialect::from_serialized(Some(&golden.dialect));
    assert!(golden.cases.len() > 40, "the golden lost its cases");
    let mut errors: Vec<String> = golden
        .cases
        .iter()
        .flat_map(|c| check_case(c, dialect))
        .collect();
    errors.extend(golden.cron_primitives.iter().flat_map(check_primitives));
    assert!(
        errors.is_empty(),
        "{} differences from Airflow {version}:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

// Invariant: Updraft schedules every golden case exactly as Airflow 2.10.5 does.
#[test]
fn matches_airflow_2_10() {
    check_golden(AF210, "2.10.5");
}

// Invariant: Updraft schedules every golden case exactly as Airflow 3.1.8 does.
#[test]
fn matches_airflow_3_1() {
    check_golden(AF31, "3.1.8");
}
