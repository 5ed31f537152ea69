//! render_field: nested values, template_ext files, native mode, undefined
//! errors and masking.

use std::path::PathBuf;

use serde_json::json;

use super::tests::ctx;
use super::*;

fn opts() -> RenderOptions {
    RenderOptions::default()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("updraft-tmpl-{name}-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

// Invariant: strings inside lists, tuples and dict values are rendered; keys,
// literals and other tagged values are not.
#[test]
fn nested_values() {
    let raw = json!({
        "{{ ds }}": ["{{ ds }}", 3, null],
        "t": {"__type": "tuple", "__var": ["{{ ds_nodash }}"]},
        "lit": {"__type": "literal", "__var": "{{ ds }}"},
        "when": {"__type": "datetime", "__var": "2026-01-01T00:00:00+00:00"},
        "x": {"__type": "xcomarg", "__var": {"task_id": "build", "key": "artifact"}},
    });
    let got = render_field(&raw, &ctx(Dialect::V3), &opts()).map(|r| r.value);
    let want = json!({
        "{{ ds }}": ["2024-01-01", 3, null],
        "t": {"__type": "tuple", "__var": ["20240101"]},
        "lit": "{{ ds }}",
        "when": {"__type": "datetime", "__var": "2026-01-01T00:00:00+00:00"},
        "x": "app.tar",
    });
    assert_eq!(got, Ok(want));
}

// Invariant: a value ending in a template_ext is a file on the search path;
// a trailing space skips the lookup; a missing file is TemplateNotFound.
#[test]
fn template_ext_files() {
    let (a, b) = (temp_dir("a"), temp_dir("b"));
    let _ = std::fs::create_dir_all(b.join("sql"));
    let _ = std::fs::write(b.join("sql/q.sql"), "SELECT '{{ ds }}'\n");
    let _ = std::fs::write(a.join("run.sh"), "echo {{ params.env }}");
    let options = RenderOptions {
        template_ext: vec![".sh".into(), ".sql".into()],
        search_path: vec![a.clone(), b.clone()],
        ..opts()
    };
    let c = ctx(Dialect::V2);
    let render = |v: &str| render_field(&json!(v), &c, &options).map(|r| r.value);
    assert_eq!(render("run.sh"), Ok(json!("echo dev")));
    assert_eq!(render("sql/q.sql"), Ok(json!("SELECT '2024-01-01'")));
    assert_eq!(render("bash run.sh "), Ok(json!("bash run.sh ")));
    assert_eq!(
        render("missing.sh"),
        Err(TemplateError::NotFound("missing.sh".into()))
    );
    assert_eq!(
        render("../a/run.sh"),
        Err(TemplateError::NotFound("../a/run.sh".into()))
    );
}

// Invariant: native mode turns Python-literal output into JSON values.
#[test]
fn native_rendering() {
    let options = RenderOptions {
        native: true,
        ..opts()
    };
    let c = ctx(Dialect::V2);
    let cases = [
        (
            "{{ ti.xcom_pull(task_ids='build') }}",
            json!({"ok": true, "n": 1}),
        ),
        ("{{ params.limit + 1 }}", json!(6)),
        ("[{{ params.limit }}, 'a']", json!([5, "a"])),
        ("{{ ds }}", json!("2024-01-01")),
        ("{{ ti.xcom_pull(task_ids='ingest') }}", json!(null)),
        ("{{ 1.5 }}", json!(1.5)),
        (" 1", json!(" 1")),
        ("True", json!(true)),
    ];
    for (src, want) in cases {
        let got = render_field(&json!(src), &c, &options).map(|r| r.value);
        assert_eq!(got, Ok(want), "{src}");
    }
}

// Invariant: an undefined name is an error naming it (Jinja's StrictUndefined).
#[test]
fn undefined_is_an_error() {
    let c = ctx(Dialect::V2);
    let got = render_str("echo {{ not_a_key }}", &c);
    assert_eq!(
        got,
        Err(TemplateError::Undefined {
            name: "not_a_key".into()
        })
    );
    assert_eq!(
        got.map_err(|e| e.to_string()),
        Err("'not_a_key' is undefined".to_string())
    );
    assert!(render_str("{{ dag_run.conf.nope }}", &c).is_err());
    assert!(render_str("{% if undefined_flag %}x{% endif %}", &c).is_err());
    assert_eq!(
        render_str("{{ nope | default('d') }}", &c).as_deref(),
        Ok("d")
    );
}

// Invariant: secrets read while rendering are masked in the displayed value.
#[test]
fn masking() {
    let c = ctx(Dialect::V3);
    let raw = json!([
        "{{ conn.warehouse.password }}",
        "key={{ conn.warehouse.extra_dejson.private_key }}",
        "{{ var.value.api_token }} {{ var.value.region }}",
        "{{ var.json.cfg.db_password }}",
    ]);
    let r = render_field(&raw, &c, &opts());
    let masked = r.as_ref().map(RenderedValue::masked);
    assert_eq!(
        masked,
        Ok(json!(["***", "key=***", "*** eu-west-1", "***"]))
    );
    let secrets = r.map(|r| r.secrets).unwrap_or_default();
    let log = "connecting with hunter22 and tok-123456";
    assert_eq!(mask_secrets(log, &secrets), "connecting with *** and ***");
    for (key, sensitive) in [
        ("API_KEY", true),
        ("db_password", true),
        ("my_secret_x", true),
        ("access_token", true),
        ("passphrase", true),
        ("region", false),
        ("keyspace", false),
    ] {
        assert_eq!(is_sensitive_key(key), sensitive, "{key}");
    }
}

// Airflow's user_defined_macros are Jinja globals (the context wins over
// them); a Python-function macro or filter fails saying so where it is used.
#[test]
fn user_defined_macros_and_filters() {
    let dag = json!({
        "fileloc": "/dags/d.py",
        "user_defined_macros": ["ds", "fn", "project", "regions"],
        "user_defined_filters": ["shout"],
        "user_defined_macro_values": {
            "project": "acme",
            "regions": ["eu", "us"],
            "ds": "shadowed",
            "fn": {"__type": "callable", "__var": "d.fn"}
        }
    });
    let options = RenderOptions::for_dag(&dag, vec![]);
    let ctx = ctx(Dialect::V2);
    let render = |s: &str| render_field(&json!(s), &ctx, &options).map(|r| r.value);
    assert_eq!(
        render("{{ project }}-{{ regions | join('+') }}").expect("renders"),
        json!("acme-eu+us")
    );
    assert_eq!(
        render("{{ ds }}").expect("renders"),
        json!("2024-01-01"),
        "context wins"
    );
    let err = render("{{ fn() }}").expect_err("a Python function");
    assert!(
        err.to_string().contains("\"fn\" is a Python function"),
        "{err}"
    );
    let err = render("{{ project | shout }}").expect_err("a Python filter");
    assert!(
        err.to_string().contains("\"shout\" is a Python function"),
        "{err}"
    );
    assert_eq!(options.search_path, vec![std::path::PathBuf::from("/dags")]);
}

// Invariant: a connection's secret extras are masked, key material whose
// name says nothing (librdkafka's `ssl.key.pem`) included, nested ones too;
// other extras are not.
#[test]
fn connection_extras_with_key_material_are_masked() {
    let conn = crate::templates::ConnectionInfo {
        conn_type: Some("kafka".into()),
        host: None,
        login: None,
        password: Some("pw1".into()),
        port: None,
        schema: None,
        extra: serde_json::json!({"bootstrap.servers": "b:1", "ssl.key.pem": "KEYDATA",
            "sasl.password": "hunter2", "nested": {"api_token": "t0k"}}),
    };
    let mut s = SecretSet::default();
    s.add_connection(&conn);
    assert_eq!(s.mask("pw1 KEYDATA hunter2 t0k b:1"), "*** *** *** *** b:1");
}
