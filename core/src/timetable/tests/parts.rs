//! The parts the goldens do not reach: relativedelta arithmetic, timezone
//! parsing and fold resolution, cron forms, run_immediately, trivial timetables.

use chrono::TimeDelta;
use serde_json::json;

use super::{V3_DEFAULTS, schedule, t};
use crate::timetable::*;

// Invariant: relativedelta arithmetic clamps to month ends and normalizes like dateutil.
#[test]
fn relativedelta_arithmetic() {
    let rd = |v: serde_json::Value| Delta::Relative(RelativeDelta::from_json(&v).expect("rd"));
    let month = rd(json!({"months": 1}));
    assert_eq!(
        month.add_to(t("2024-01-31T05:00:00Z")),
        Some(t("2024-02-29T05:00:00Z"))
    );
    assert_eq!(
        month.sub_from(t("2024-03-31T00:00:00Z")),
        Some(t("2024-02-29T00:00:00Z"))
    );
    let carry = rd(json!({"hours": 25, "months": 13}));
    assert_eq!(
        carry.summary(),
        "relativedelta(years=+1, months=+1, days=+1, hours=+1)"
    );
    let absolute = rd(json!({"months": 1, "day": 1, "hour": 6}));
    assert_eq!(
        absolute.add_to(t("2024-01-31T23:00:00Z")),
        Some(t("2024-02-01T06:00:00Z"))
    );
    assert_eq!(
        absolute.sub_from(t("2024-01-31T23:00:00Z")),
        Some(t("2023-12-01T06:00:00Z"))
    );
    // _round counts 30-day months: 2024-06-12 rounds down to a multiple of 30 days since 1970.
    assert_eq!(
        month.round_down(t("2024-06-12T10:00:00Z")),
        Some(t("2024-05-17T00:00:00Z"))
    );
}

// Invariant: timezones parse as the contract names them, and wall times resolve with fold=1.
#[test]
fn zones_and_fold() {
    assert_eq!(Zone::parse("UTC").expect("utc").name(), "UTC");
    assert_eq!(Zone::parse("+02:00").expect("fixed").name(), "+02:00");
    assert_eq!(Zone::parse("-05:30").expect("fixed").name(), "-05:30");
    assert!(Zone::parse("Nowhere").is_err());
    let ny = Zone::parse("America/New_York").expect("ny");
    let naive = |s: &str| t(s).naive_utc();
    // 01:30 happens twice on 2024-11-03: the second (EST) one is taken.
    assert_eq!(
        ny.aware(naive("2024-11-03T01:30:00Z")),
        t("2024-11-03T06:30:00Z")
    );
    // 02:30 never happens on 2024-03-10: read with the EST offset, i.e. 03:30 EDT.
    assert_eq!(
        ny.aware(naive("2024-03-10T02:30:00Z")),
        t("2024-03-10T07:30:00Z")
    );
    let fixed = Zone::parse("+02:00").expect("fixed");
    assert_eq!(
        fixed.aware(naive("2024-06-01T02:00:00Z")),
        t("2024-06-01T00:00:00Z")
    );
}

// Invariant: croniter's six-field form (seconds last) and presets parse; croner's extensions agree.
#[test]
fn cron_forms() {
    let utc = Zone::parse("UTC").expect("utc");
    let six = CronExpr::parse("0 12 * * * 30", utc).expect("six fields");
    assert_eq!(
        six.get_next(t("2024-06-01T00:00:00Z")),
        Some(t("2024-06-01T12:00:30Z"))
    );
    let preset = CronExpr::parse("@annually", utc).expect("preset");
    assert_eq!(preset.expression(), "0 0 1 1 *");
    let never = CronExpr::parse("0 0 30 2 *", utc).expect("parses");
    assert_eq!(never.get_next(t("2024-06-01T00:00:00Z")), None);
}

// Invariant: run_immediately as a timedelta picks the past run only within that window.
#[test]
fn run_immediately_window() {
    let s = schedule(
        json!({"type": "cron", "expr": "0 * * * *", "preset": null, "timezone": "UTC", "timetable": "trigger"}),
    );
    let opts = |ri| TriggerOptions {
        interval: Delta::ZERO,
        run_immediately: ri,
    };
    let no_start = TimeRestriction {
        earliest: None,
        latest: None,
        catchup: false,
    };
    let now = t("2024-06-12T10:20:00Z");
    let first = |ri, dialect| {
        Timetable::from_schedule(&s, dialect, &V3_DEFAULTS, &opts(ri))
            .expect("timetable")
            .next_dagrun_info(None, &no_start, now)
            .map(|i| i.run_after)
    };
    let within = |m| RunImmediately::Within(TimeDelta::minutes(m));
    assert_eq!(
        first(within(25), Dialect::V3),
        Some(t("2024-06-12T10:00:00Z"))
    );
    assert_eq!(
        first(within(15), Dialect::V3),
        Some(t("2024-06-12T11:00:00Z"))
    );
    assert_eq!(
        first(RunImmediately::Auto, Dialect::V3),
        Some(t("2024-06-12T11:00:00Z"))
    );
    // 2.10 knows no run_immediately: the latest past time, however old.
    assert_eq!(
        first(within(15), Dialect::V2),
        Some(t("2024-06-12T10:00:00Z"))
    );
    let catchup = TimeRestriction {
        catchup: true,
        ..no_start
    };
    let v2 = Timetable::from_schedule(&s, Dialect::V2, &V3_DEFAULTS, &opts(RunImmediately::Yes))
        .expect("timetable");
    assert_eq!(
        v2.next_dagrun_info(None, &catchup, now),
        None,
        "2.10 gives up without a start"
    );
}

// Invariant: trivial timetables give exact manual intervals and report their run limits.
#[test]
fn trivial_timetables() {
    let tt = |s| {
        Timetable::from_schedule(
            &schedule(s),
            Dialect::V3,
            &V3_DEFAULTS,
            &TriggerOptions::default(),
        )
        .expect("timetable")
    };
    let at = t("2024-06-12T10:00:00Z");
    let continuous = tt(json!({"type": "continuous"}));
    assert_eq!(
        continuous.infer_manual_data_interval(at),
        DataInterval::exact(at)
    );
    assert_eq!(continuous.active_runs_limit(), Some(1));
    assert!(!continuous.periodic());
    let once = tt(json!({"type": "once"}));
    let r = TimeRestriction {
        earliest: Some(at),
        latest: Some(at),
        catchup: false,
    };
    assert_eq!(
        once.next_dagrun_info(None, &r, at),
        Some(RunInfo::exact(at)),
        "end_date is inclusive"
    );
    let ran = DataInterval::exact(at);
    assert_eq!(once.next_dagrun_info(Some(&ran), &r, at), None);
    assert!(tt(json!({"type": "delta", "seconds": 60.0, "timetable": null})).periodic());
}
