//! Context keys, filters, macros, var/conn and xcom_pull. Expected strings
//! marked "af210" / "af31" were produced by jinja2 + airflow.macros + pendulum
//! in the Airflow 2.10.5 / 3.1.8 venvs (`/work/airflow-venvs`); the others
//! follow reference §5.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;

pub fn inputs(dialect: Dialect) -> ContextInputs {
    let day = |d| {
        Utc.with_ymd_and_hms(2024, 1, d, 0, 0, 0)
            .single()
            .unwrap_or_default()
    };
    ContextInputs {
        dag_id: "factory".into(),
        task_id: "publish".into(),
        run_id: "scheduled__2024-01-01T00:00:00+00:00".into(),
        logical_date: Some(day(1)),
        data_interval: Some(DataInterval {
            start: day(1),
            end: day(2),
        }),
        external_trigger: false,
        conf: json!({"target": "prod"}),
        params: json!({"env": "dev", "limit": {"__type": "param", "__var": {"value": 5}}}),
        try_number: 2,
        map_index: -1,
        dialect,
    }
}

/// JSON objects keep sorted key order (the workspace's serde_json has no
/// `preserve_order`), so the dict XCom is written with its keys sorted.
pub fn data() -> InMemoryData {
    let run = "scheduled__2024-01-01T00:00:00+00:00";
    InMemoryData::default()
        .with_xcom(
            ("factory", run, "generate_code", "return_value"),
            json!("code.py"),
        )
        .with_xcom(
            ("factory", run, "build", "return_value"),
            json!({"n": 1, "ok": true}),
        )
        .with_xcom(("factory", run, "build", "artifact"), json!("app.tar"))
        .with_variable("region", "eu-west-1")
        .with_variable("cfg", r#"{"bucket": "b1", "db_password": "pw-in-json"}"#)
        .with_variable("api_token", "tok-123456")
        .with_connection(
            "warehouse",
            ConnectionInfo {
                host: Some("db.local".into()),
                login: Some("etl".into()),
                password: Some("hunter22".into()),
                port: Some(5432),
                schema: Some("dw".into()),
                extra: json!({"sslmode": "require", "private_key": "PK-abc"}),
                ..Default::default()
            },
        )
}

pub fn ctx(dialect: Dialect) -> TemplateContext {
    TemplateContext::new(inputs(dialect), Arc::new(data()))
}

pub fn check(dialect: Dialect, cases: &[(&str, &str)]) {
    let c = ctx(dialect);
    for (source, expected) in cases {
        let got = render_str(source, &c);
        assert_eq!(got.as_deref(), Ok(*expected), "{dialect:?}: {source}");
    }
}

// Invariant: the context keys both dialects share render as Airflow prints them.
#[test]
fn shared_context_keys() {
    let cases = [
        ("{{ ds }}", "2024-01-01"),
        ("{{ ds_nodash }}", "20240101"),
        ("{{ ts }}", "2024-01-01T00:00:00+00:00"),
        ("{{ ts_nodash }}", "20240101T000000"),
        ("{{ ts_nodash_with_tz }}", "20240101T000000+0000"),
        ("{{ logical_date }}", "2024-01-01 00:00:00+00:00"), // af210, af31 (pendulum 3)
        ("{{ data_interval_start }}", "2024-01-01 00:00:00+00:00"),
        ("{{ data_interval_end }}", "2024-01-02 00:00:00+00:00"),
        ("{{ run_id }}", "scheduled__2024-01-01T00:00:00+00:00"),
        (
            "{{ dag_run.run_id }}",
            "scheduled__2024-01-01T00:00:00+00:00",
        ),
        ("{{ dag_run.logical_date }}", "2024-01-01 00:00:00+00:00"),
        ("{{ dag_run.conf.target }}", "prod"),
        ("{{ dag_run.conf.get('target') }}", "prod"),
        ("{{ dag_run.conf.get('nope', 'dflt') }}", "dflt"),
        ("{{ dag_run.conf.get('nope') }}", "None"),
        ("{{ params.env }}", "dev"),
        ("{{ params.limit }}", "5"),
        ("{{ params.target }}", "prod"),
        ("{{ dag.dag_id }}.{{ task.task_id }}", "factory.publish"),
        (
            "{{ ti.task_id }} {{ ti.dag_id }} {{ ti.try_number }}",
            "publish factory 2",
        ),
        (
            "{{ task_instance.run_id }}",
            "scheduled__2024-01-01T00:00:00+00:00",
        ),
        (
            "{{ logical_date.strftime('%d/%m/%Y %H:%M') }}",
            "01/01/2024 00:00",
        ),
        ("{{ logical_date.year }}", "2024"),
    ];
    check(Dialect::V2, &cases);
    check(Dialect::V3, &cases);
}

// Invariant: 2.x's deprecated keys exist in 2.x and are gone in 3.x.
#[test]
fn dialect_specific_keys() {
    check(
        Dialect::V2,
        &[
            ("{{ execution_date }}", "2024-01-01 00:00:00+00:00"),
            ("{{ next_ds }} {{ next_ds_nodash }}", "2024-01-02 20240102"),
            ("{{ prev_ds }} {{ prev_ds_nodash }}", "2023-12-31 20231231"),
            (
                "{{ yesterday_ds }} {{ tomorrow_ds }}",
                "2023-12-31 2024-01-02",
            ),
            ("{{ try_number }}", "2"),
            ("{{ task_instance_key_str }}", "factory__publish__20240101"),
        ],
    );
    let c = ctx(Dialect::V3);
    for key in [
        "execution_date",
        "next_ds",
        "prev_ds",
        "yesterday_ds",
        "tomorrow_ds",
        "try_number",
    ] {
        let got = render_str(&format!("{{{{ {key} }}}}"), &c);
        assert_eq!(
            got,
            Err(TemplateError::Undefined { name: key.into() }),
            "{key}"
        );
    }
}

// Invariant: a 3.x run without a logical date has no ds/ts/logical_date keys.
#[test]
fn v3_without_logical_date() {
    let mut i = inputs(Dialect::V3);
    i.logical_date = None;
    let c = TemplateContext::new(i, Arc::new(data()));
    for key in [
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "logical_date",
    ] {
        let got = render_str(&format!("{{{{ {key} }}}}"), &c);
        assert_eq!(
            got,
            Err(TemplateError::Undefined { name: key.into() }),
            "{key}"
        );
    }
    assert_eq!(
        render_str("{{ dag_run.logical_date }}", &c).as_deref(),
        Ok("None")
    );
    assert_eq!(
        render_str("{{ ds is defined }}", &c).as_deref(),
        Ok("False")
    );
}

// Invariant: the date filters and the macros Airflow documents work as in Airflow.
#[test]
fn filters_and_macros() {
    check(
        Dialect::V2,
        &[
            ("{{ data_interval_end | ds }}", "2024-01-02"),
            ("{{ data_interval_end | ds_nodash }}", "20240102"),
            ("{{ data_interval_end | ts }}", "2024-01-02T00:00:00+00:00"),
            ("{{ data_interval_end | ts_nodash }}", "20240102T000000"),
            (
                "{{ data_interval_end | ts_nodash_with_tz }}",
                "20240102T000000+0000",
            ),
            ("{{ macros.ds_add(ds, 7) }}", "2024-01-08"), // af210
            ("{{ macros.ds_add(ds, -1) }}", "2023-12-31"),
            (
                "{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }}",
                "01/01/2024",
            ), // af210
            ("{{ macros.datetime(2024, 3, 1) }}", "2024-03-01 00:00:00"), // af210
            ("{{ macros.timedelta(days=7) }}", "7 days, 0:00:00"),        // af210
            ("{{ macros.timedelta(days=1) }}", "1 day, 0:00:00"),
            ("{{ macros.timedelta(minutes=5) }}", "0:05:00"),
            ("{{ macros.timedelta(hours=1).total_seconds() }}", "3600.0"),
            (
                "{{ logical_date.add(days=1) }}",
                "2024-01-02 00:00:00+00:00",
            ),
        ],
    );
}

// Invariant: Variables and Connections are read through TemplateData.
#[test]
fn var_and_conn() {
    check(
        Dialect::V3,
        &[
            ("{{ var.value.region }}", "eu-west-1"),
            ("{{ var.value.get('region', 'x') }}", "eu-west-1"),
            ("{{ var.value.get('missing', 'dflt') }}", "dflt"),
            ("{{ var.json.cfg.bucket }}", "b1"),
            ("{{ var.json.get('missing', 'd') }}", "d"),
            (
                "{{ conn.warehouse.host }}:{{ conn.warehouse.port }}",
                "db.local:5432",
            ),
            (
                "{{ conn.warehouse.login }}/{{ conn.warehouse.schema }}",
                "etl/dw",
            ),
            ("{{ conn.warehouse.extra_dejson.sslmode }}", "require"),
        ],
    );
    let c = ctx(Dialect::V3);
    assert!(render_str("{{ var.value.missing }}", &c).is_err());
    assert!(render_str("{{ conn.nope.host }}", &c).is_err());
}

// Invariant: xcom_pull follows §5.3; a missing task renders "None" (the article's DAG).
#[test]
fn xcom_pull() {
    let both = [
        ("{{ task_instance.xcom_pull(task_ids='ingest') }}", "None"), // Airflow renders None as "None" (the article's case, issue #3)
        ("{{ ti.xcom_pull(task_ids='generate_code') }}", "code.py"),
        ("{{ ti.xcom_pull('generate_code') }}", "code.py"),
        (
            "{{ ti.xcom_pull(task_ids='build') }}",
            "{'n': 1, 'ok': True}",
        ),
        ("{{ ti.xcom_pull(task_ids='build')['n'] }}", "1"),
        (
            "{{ ti.xcom_pull(task_ids='build', key='artifact') }}",
            "app.tar",
        ),
        (
            "{{ ti.xcom_pull(task_ids='build', dag_id='other') }}",
            "None",
        ),
        (
            "{{ ti.xcom_pull(task_ids=['generate_code', 'build'], key='return_value') }}",
            "['code.py', {'n': 1, 'ok': True}]",
        ),
    ];
    check(Dialect::V2, &both);
    check(Dialect::V3, &both);
    let list = "{{ ti.xcom_pull(task_ids=['ingest', 'generate_code']) }}";
    check(Dialect::V2, &[(list, "['code.py']")]);
    check(Dialect::V3, &[(list, "[None, 'code.py']")]);
    let dflt = "{{ ti.xcom_pull(task_ids='ingest', default='d') }}";
    check(Dialect::V2, &[(dflt, "d")]);
    check(Dialect::V3, &[(dflt, "None")]);
}

// Python's datetime.replace / weekday on context dates (2024-01-02 is a Tuesday).
#[test]
fn datetime_replace_and_weekday() {
    check(
        Dialect::V2,
        &[
            (
                "{{ data_interval_end.replace(hour=8) }}",
                "2024-01-02 08:00:00+00:00",
            ),
            (
                "{{ data_interval_end.replace(day=31, month=12, minute=5).isoformat() }}",
                "2024-12-31T00:05:00+00:00",
            ),
            ("{{ data_interval_end.weekday() }}", "1"),
            ("{{ data_interval_end.isoweekday() }}", "2"),
        ],
    );
    let err = crate::templates::render_field(
        &json!("{{ data_interval_end.replace(month=13) }}"),
        &ctx(Dialect::V2),
        &crate::templates::RenderOptions::default(),
    );
    assert!(err.is_err(), "month 13 is out of range");
}
