//! Building timetables from the serialized contract: classes per dialect and
//! config, errors, dates and catchup, Airflow's names.

use chrono::TimeDelta;
use serde_json::json;

use super::{V2_DEFAULTS, V3_DEFAULTS, schedule, t};
use crate::model::serialized::SerializedDag;
use crate::timetable::build::parse_date;
use crate::timetable::delta::timedelta_str;
use crate::timetable::*;

fn class(s: serde_json::Value, dialect: Dialect, defaults: ScheduleDefaults) -> &'static str {
    Timetable::from_schedule(&schedule(s), dialect, &defaults, &TriggerOptions::default())
        .expect("timetable")
        .class_name()
}

fn dag(schedule: serde_json::Value, dialect: &str, catchup: Option<bool>) -> SerializedDag {
    serde_json::from_value(json!({
        "dag_id": "d", "fileloc": "/d.py", "description": null, "dag_display_name": null,
        "schedule": schedule, "start_date": "2024-06-01T02:00:00+02:00", "end_date": null,
        "catchup": catchup, "max_active_runs": null, "max_active_tasks": null,
        "is_paused_upon_creation": null, "owner": "o", "dialect": dialect, "tasks": []
    }))
    .expect("serialized DAG")
}

// Invariant: each contract schedule shape maps to the class Airflow creates, per dialect and config.
#[test]
fn schedules_map_to_airflow_classes() {
    use Dialect::{V2, V3};
    let cron = |tt: serde_json::Value| json!({"type": "cron", "expr": "0 0 * * *", "preset": "@daily", "timezone": "UTC", "timetable": tt});
    let delta = |tt: serde_json::Value| json!({"type": "delta", "seconds": 60.0, "timetable": tt});
    let rows = [
        (json!({"type": "none"}), V2, V2_DEFAULTS, "NullTimetable"),
        (json!({"type": "once"}), V3, V3_DEFAULTS, "OnceTimetable"),
        (
            json!({"type": "continuous"}),
            V2,
            V2_DEFAULTS,
            "ContinuousTimetable",
        ),
        (
            json!({"type": "default"}),
            V2,
            V2_DEFAULTS,
            "DeltaDataIntervalTimetable",
        ),
        (json!({"type": "default"}), V3, V3_DEFAULTS, "NullTimetable"),
        (
            cron(json!(null)),
            V2,
            V2_DEFAULTS,
            "CronDataIntervalTimetable",
        ),
        (cron(json!(null)), V3, V3_DEFAULTS, "CronTriggerTimetable"),
        (cron(json!(null)), V2, V3_DEFAULTS, "CronTriggerTimetable"),
        (
            cron(json!("trigger")),
            V2,
            V2_DEFAULTS,
            "CronTriggerTimetable",
        ),
        (
            cron(json!("data_interval")),
            V3,
            V3_DEFAULTS,
            "CronDataIntervalTimetable",
        ),
        // 2.10 ignores create_cron_data_intervals for timedeltas; 3.1 reads it.
        (
            delta(json!(null)),
            V2,
            V3_DEFAULTS,
            "DeltaDataIntervalTimetable",
        ),
        (delta(json!(null)), V3, V3_DEFAULTS, "DeltaTriggerTimetable"),
        (
            delta(json!(null)),
            V3,
            V2_DEFAULTS,
            "DeltaDataIntervalTimetable",
        ),
        (
            delta(json!("trigger")),
            V2,
            V2_DEFAULTS,
            "DeltaTriggerTimetable",
        ),
        (
            json!({"type": "relativedelta", "value": {"months": 1}}),
            V2,
            V2_DEFAULTS,
            "DeltaDataIntervalTimetable",
        ),
        (
            json!({"type": "assets", "condition": {}}),
            V2,
            V2_DEFAULTS,
            "DatasetTriggeredTimetable",
        ),
        (
            json!({"type": "assets", "condition": {}}),
            V3,
            V3_DEFAULTS,
            "AssetTriggeredTimetable",
        ),
        (
            json!({"type": "asset_or_time", "condition": {}, "timetable": cron(json!(null))}),
            V3,
            V3_DEFAULTS,
            "AssetOrTimeSchedule",
        ),
    ];
    for (s, dialect, defaults, want) in rows {
        assert_eq!(class(s.clone(), dialect, defaults), want, "{s} {dialect:?}");
    }
}

// Invariant: schedules Updraft cannot run are rejected with a reason, never silently ignored.
#[test]
fn bad_schedules_are_errors() {
    let build = |s: serde_json::Value| {
        Timetable::from_schedule(
            &schedule(s),
            Dialect::V2,
            &V2_DEFAULTS,
            &TriggerOptions::default(),
        )
    };
    let cron = |expr: &str, tz: &str| json!({"type": "cron", "expr": expr, "preset": null, "timezone": tz, "timetable": null});
    assert!(matches!(
        build(cron("61 * * * *", "UTC")),
        Err(TimetableError::InvalidCron { .. })
    ));
    assert!(matches!(
        build(cron("* * * *", "UTC")),
        Err(TimetableError::InvalidCron { .. })
    ));
    assert!(matches!(
        build(cron("@daily", "Mars/Olympus")),
        Err(TimetableError::UnknownTimezone(_))
    ));
    let zero = json!({"type": "delta", "seconds": 0.0, "timetable": null});
    assert!(matches!(
        build(zero),
        Err(TimetableError::NonPositiveDelta(_))
    ));
    let weekday = json!({"type": "relativedelta", "value": {"weekday": "MO(+1)"}});
    assert!(matches!(
        build(weekday),
        Err(TimetableError::InvalidRelativeDelta(_))
    ));
    let custom =
        json!({"type": "timetable", "class": "plugins.Workday", "description": "", "args": {}});
    assert_eq!(
        build(custom).err(),
        Some(TimetableError::Unsupported("plugins.Workday".into()))
    );
    let nested = json!({"type": "asset_or_time", "condition": {}, "timetable": {"type": "assets", "condition": {}}});
    assert!(matches!(build(nested), Err(TimetableError::Unsupported(_))));
}

// Invariant: a serialized DAG's dates, catchup and dialect reach the restriction as Airflow resolves them.
#[test]
fn from_dag_resolves_dates_catchup_and_dialect() {
    let s = DagSchedule::from_dag(&dag(json!({"type": "default"}), "2", None), &V2_DEFAULTS)
        .expect("v2");
    assert_eq!(s.restriction.earliest, Some(t("2024-06-01T00:00:00Z")));
    assert!(
        s.restriction.catchup,
        "catchup None takes catchup_by_default"
    );
    assert_eq!(s.timetable.summary(), "1 day, 0:00:00");
    let first = s
        .next_dagrun_info(None, t("2024-06-03T12:00:00Z"))
        .expect("first run");
    assert_eq!(
        first,
        RunInfo::interval(t("2024-06-01T00:00:00Z"), t("2024-06-02T00:00:00Z"))
    );

    let s = DagSchedule::from_dag(
        &dag(json!({"type": "default"}), "3", Some(true)),
        &V2_DEFAULTS,
    )
    .expect("v3");
    assert!(s.restriction.catchup);
    assert!(!s.timetable.can_be_scheduled());
    assert_eq!(s.next_dagrun_info(None, t("2024-06-03T12:00:00Z")), None);

    let mut bad = dag(json!({"type": "once"}), "2", None);
    bad.start_date = Some("yesterday".into());
    assert!(matches!(
        DagSchedule::from_dag(&bad, &V2_DEFAULTS),
        Err(TimetableError::InvalidDate {
            field: "start_date",
            ..
        })
    ));
    assert_eq!(
        parse_date("end_date", Some("2024-06-01T00:00:00")),
        Ok(Some(t("2024-06-01T00:00:00Z"))),
        "a naive datetime is UTC"
    );
}

// Invariant: summaries and descriptions use Airflow's words for each dialect.
#[test]
fn summaries_and_descriptions() {
    let tt = |s: serde_json::Value, d| {
        Timetable::from_schedule(&schedule(s), d, &V2_DEFAULTS, &TriggerOptions::default())
            .expect("timetable")
    };
    let hourly = json!({"type": "cron", "expr": "0 0 * * *", "preset": "@daily", "timezone": "UTC", "timetable": null});
    let mixed = json!({"type": "asset_or_time", "condition": {}, "timetable": hourly});
    assert_eq!(
        tt(mixed.clone(), Dialect::V2).summary(),
        "Dataset or 0 0 * * *"
    );
    assert_eq!(
        tt(mixed.clone(), Dialect::V3).summary(),
        "Asset or 0 0 * * *"
    );
    assert_eq!(
        tt(mixed, Dialect::V3).description(),
        "Triggered by assets or At 00:00"
    );
    assert_eq!(
        tt(json!({"type": "assets", "condition": {}}), Dialect::V2).description(),
        "Triggered by datasets"
    );
    let rd = json!({"type": "relativedelta", "value": {"months": 1, "days": 2, "day": 1}});
    assert_eq!(
        tt(rd, Dialect::V3).summary(),
        "relativedelta(months=+1, days=+2, day=1)"
    );
    let cases = [
        (90.0, "0:01:30"),
        (86_400.0, "1 day, 0:00:00"),
        (3.0 * 86_400.0 + 0.5, "3 days, 0:00:00.500000"),
    ];
    for (secs, want) in cases {
        assert_eq!(Delta::from_seconds(secs).expect("delta").summary(), want);
    }
    assert_eq!(timedelta_str(TimeDelta::seconds(-1)), "-1 day, 23:59:59");
}

// Invariant: a trigger timetable's `interval` and `run_immediately` travel in
// the serialized schedule and reach the timetable (they changed runs' data
// intervals silently when they were dropped).
#[test]
fn trigger_options_come_from_the_serialized_schedule() {
    let cron = |extra: serde_json::Value| {
        let mut s = json!({"type": "cron", "expr": "0 2 * * *", "preset": null,
                           "timezone": "UTC", "timetable": "trigger"});
        if let (Some(base), Some(more)) = (s.as_object_mut(), extra.as_object()) {
            base.extend(more.clone());
        }
        s
    };
    let now = t("2024-06-03T12:00:00Z");
    let with_hour = DagSchedule::from_dag(
        &dag(
            cron(json!({"interval": 3600.0, "run_immediately": false})),
            "3",
            Some(true),
        ),
        &V3_DEFAULTS,
    )
    .expect("with interval");
    let first = with_hour.next_dagrun_info(None, now).expect("first run");
    assert_eq!(
        first.data_interval.end - first.data_interval.start,
        TimeDelta::hours(1)
    );
    assert_eq!(first.data_interval.end, t("2024-06-01T02:00:00Z"));

    // Stored before the fields existed: Airflow's defaults, a point interval.
    let old = DagSchedule::from_dag(&dag(cron(json!({})), "3", Some(true)), &V3_DEFAULTS)
        .expect("old version");
    let first = old.next_dagrun_info(None, now).expect("first run");
    assert_eq!(first.data_interval.start, first.data_interval.end);

    assert_eq!(
        TriggerOptions::from_schedule(&schedule(cron(json!({"run_immediately": "auto"}))))
            .expect("auto")
            .run_immediately,
        RunImmediately::Auto
    );
    assert_eq!(
        TriggerOptions::from_schedule(&schedule(cron(json!({"run_immediately": 600.0}))))
            .expect("within")
            .run_immediately,
        RunImmediately::Within(TimeDelta::minutes(10))
    );
    assert!(
        TriggerOptions::from_schedule(&schedule(cron(json!({"run_immediately": "soon"})))).is_err()
    );
}
