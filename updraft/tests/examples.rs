//! The example DAGs in `dags/` load with exactly the structure real Apache
//! Airflow gives them: each `tests/golden/<file>.json` was produced by Airflow
//! 2.10.5 or 3.1.8 itself (`scripts/golden/`), and Updraft's serialized DAG is
//! compared with it field by field. The article's DAG (whose operators do not
//! exist upstream) is pinned by hand.

mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::{Updraft, repo_root};

fn golden_files() -> Vec<(String, Value)> {
    let dir = repo_root().join("updraft/tests/golden");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read golden");
            let stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("stem")
                .to_owned();
            (stem, serde_json::from_str(&text).expect("golden JSON"))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `{"__type": T, "__var": V}` → V, recursively (goldens hold plain values).
fn untag(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.contains_key("__type") && m.contains_key("__var") => {
            untag(&m["__var"])
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), untag(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(untag).collect()),
        other => other.clone(),
    }
}

fn uris(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(u)) = m.get("uri") {
                out.insert(u.clone());
            }
            m.values().for_each(|x| uris(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| uris(x, out)),
        Value::String(s) if s.contains("://") => {
            out.insert(s.clone());
        }
        _ => {}
    }
}

fn python_timedelta(seconds: f64) -> String {
    let total = seconds as i64;
    let (days, rest) = (total / 86_400, total % 86_400);
    let hms = format!("{}:{:02}:{:02}", rest / 3600, (rest % 3600) / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        d => format!("{d} days, {hms}"),
    }
}

/// (timetable class, timetable summary, timezone) as Airflow would report
/// them for our schedule object, resolving defaults by dialect.
fn timetable(schedule: &Value, v3: bool) -> (String, Value, Value) {
    let assets = if v3 { "Asset" } else { "Dataset" };
    let kind = schedule["type"].as_str().unwrap_or("?");
    match kind {
        "none" => ("NullTimetable".into(), json!("None"), Value::Null),
        "default" if v3 => ("NullTimetable".into(), json!("None"), Value::Null),
        "default" => (
            "DeltaDataIntervalTimetable".into(),
            json!("1 day, 0:00:00"),
            Value::Null,
        ),
        "once" => ("OnceTimetable".into(), json!("@once"), Value::Null),
        "continuous" => (
            "ContinuousTimetable".into(),
            json!("@continuous"),
            Value::Null,
        ),
        "cron" => {
            let trigger = match schedule["timetable"].as_str() {
                Some("trigger") => true,
                Some(_) => false,
                None => v3,
            };
            let class = if trigger {
                "CronTriggerTimetable"
            } else {
                "CronDataIntervalTimetable"
            };
            (
                class.into(),
                schedule["expr"].clone(),
                schedule["timezone"].clone(),
            )
        }
        "delta" => {
            let trigger = match schedule["timetable"].as_str() {
                Some("trigger") => true,
                Some(_) => false,
                None => v3,
            };
            let class = if trigger {
                "DeltaTriggerTimetable"
            } else {
                "DeltaDataIntervalTimetable"
            };
            let seconds = schedule["seconds"].as_f64().unwrap_or(-1.0);
            (class.into(), json!(python_timedelta(seconds)), Value::Null)
        }
        "assets" => (
            format!("{assets}TriggeredTimetable"),
            json!(assets),
            Value::Null,
        ),
        "asset_or_time" => {
            let (_, inner, _) = timetable(&schedule["timetable"], v3);
            let inner = inner.as_str().unwrap_or("?").to_owned();
            (
                format!("{assets}OrTimeSchedule"),
                json!(format!("{assets} or {inner}")),
                Value::Null,
            )
        }
        "timetable" => {
            let class = schedule["class"].as_str().unwrap_or("?");
            let short = class.rsplit('.').next().unwrap_or(class).to_owned();
            (short, schedule["description"].clone(), Value::Null)
        }
        other => (
            format!("unknown schedule type {other}"),
            Value::Null,
            Value::Null,
        ),
    }
}

const TASK_FIELDS: &[&str] = &[
    "task_type",
    "upstream_task_ids",
    "downstream_task_ids",
    "trigger_rule",
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "execution_timeout",
    "depends_on_past",
    "wait_for_downstream",
    "pool",
    "pool_slots",
    "queue",
    "priority_weight",
    "weight_rule",
    "max_active_tis_per_dag",
    "max_active_tis_per_dagrun",
    "multiple_outputs",
    "owner",
    "task_group",
    "template_ext",
    "is_setup",
    "is_teardown",
];

fn compare_task(id: &str, ours: &Value, golden: &Value, diffs: &mut Vec<String>) {
    let mut check = |what: &str, a: Value, b: Value| {
        let same = match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-6,
            _ => a == b,
        };
        if !same {
            diffs.push(format!("task {id}: {what}: updraft {a} != airflow {b}"));
        }
    };
    for f in TASK_FIELDS {
        check(f, ours[*f].clone(), golden[*f].clone());
    }
    let (mut mine, mut theirs) = (
        ours["template_fields"].clone(),
        golden["template_fields"].clone(),
    );
    if golden["template_fields_unordered"] == json!(true) {
        let sorted = |v: &Value| {
            let mut s: Vec<String> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect();
            s.sort();
            json!(s)
        };
        mine = sorted(&mine);
        theirs = sorted(&theirs);
    }
    check("template_fields", mine, theirs);
    check(
        "is_mapped",
        json!(!ours["mapped"].is_null()),
        golden["is_mapped"].clone(),
    );
    match golden["sensor"].as_object() {
        Some(sensor) => {
            for (k, v) in sensor {
                check(&format!("sensor.{k}"), ours["sensor"][k].clone(), v.clone());
            }
        }
        None => check("sensor", ours["sensor"].clone(), Value::Null),
    }
    if let Some(hitl) = golden["hitl"].as_object() {
        for k in ["options", "defaults", "multiple", "options_mapping"] {
            if let Some(v) = hitl.get(k) {
                check(&format!("hitl.{k}"), untag(&ours["fields"][k]), v.clone());
            }
        }
        if let Some(params) = hitl.get("params").and_then(Value::as_object) {
            for (name, value) in params {
                let mine = untag(&ours["fields"]["params"][name]);
                let mine = mine.get("value").cloned().unwrap_or(mine);
                check(&format!("hitl.params.{name}"), mine, value.clone());
            }
        }
    }
    let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
    uris(&ours["outlets"], &mut a);
    uris(&golden["outlets"], &mut b);
    check("outlets", json!(a), json!(b));
}

fn compare_dag(dag_id: &str, ours: &Value, golden: &Value, v3: bool, diffs: &mut Vec<String>) {
    let mut check = |what: &str, a: Value, b: Value| {
        if a != b {
            diffs.push(format!("dag {dag_id}: {what}: updraft {a} != airflow {b}"));
        }
    };
    let default_catchup = !v3;
    check(
        "catchup",
        json!(ours["catchup"].as_bool().unwrap_or(default_catchup)),
        golden["catchup"].clone(),
    );
    for f in ["max_active_runs", "max_active_tasks"] {
        let mine = if ours[f].is_null() {
            json!(16)
        } else {
            ours[f].clone()
        };
        check(f, mine, golden[f].clone());
    }
    for f in ["description", "owner", "start_date"] {
        check(f, ours[f].clone(), golden[f].clone());
    }
    check("tags", ours["tags"].clone(), golden["tags"].clone());
    let params: serde_json::Map<String, Value> = ours["params"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, p)| (k.clone(), untag(&p["value"])))
        .collect();
    check("params", Value::Object(params), golden["params"].clone());
    let (class, summary, tz) = timetable(&ours["schedule"], v3);
    check("timetable", json!(class), golden["timetable"].clone());
    check(
        "timetable_summary",
        summary,
        golden["timetable_summary"].clone(),
    );
    check(
        "timetable_timezone",
        tz,
        golden["timetable_timezone"].clone(),
    );
    let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
    uris(&ours["schedule"], &mut a);
    uris(&golden["schedule_assets"], &mut b);
    check("schedule assets", json!(a), json!(b));

    let edges = |v: &Value| -> BTreeSet<(String, String, String)> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["from"].to_string(),
                    e["to"].to_string(),
                    e["label"].to_string(),
                )
            })
            .collect()
    };
    check(
        "edge_labels",
        json!(edges(&ours["edge_labels"])),
        json!(edges(&golden["edge_labels"])),
    );

    let groups: serde_json::Map<String, Value> = ours["task_groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let mut children: Vec<String> = g["children"].as_array().into_iter().flatten().filter_map(|c| c.as_str().map(str::to_owned)).collect();
            children.sort();
            (
                g["group_id"].as_str().unwrap_or("?").to_owned(),
                json!({"children": children, "parent_group_id": g["parent_group_id"], "prefix_group_id": g["prefix_group_id"], "is_mapped": g["is_mapped"]}),
            )
        })
        .collect();
    let golden_groups: serde_json::Map<String, Value> = golden["task_groups"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, g)| {
            let mut children: Vec<String> = g["children"].as_array().into_iter().flatten().filter_map(|c| c.as_str().map(str::to_owned)).collect();
            children.sort();
            (id.clone(), json!({"children": children, "parent_group_id": g["parent_group_id"], "prefix_group_id": g["prefix_group_id"], "is_mapped": g["is_mapped"]}))
        })
        .collect();
    check(
        "task_groups",
        Value::Object(groups),
        Value::Object(golden_groups),
    );

    let ours_tasks: std::collections::BTreeMap<String, &Value> = ours["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (t["task_id"].as_str().unwrap_or("?").to_owned(), t))
        .collect();
    let golden_tasks = golden["tasks"].as_object().cloned().unwrap_or_default();
    check(
        "task ids",
        json!(ours_tasks.keys().collect::<Vec<_>>()),
        json!(golden_tasks.keys().collect::<Vec<_>>()),
    );
    for (id, g) in &golden_tasks {
        if let Some(t) = ours_tasks.get(id) {
            compare_task(&format!("{dag_id}.{id}"), t, g, diffs);
        }
    }
}

// Invariant: every example DAG has exactly the structure Airflow gives it.
#[tokio::test]
async fn example_dags_match_what_airflow_itself_loads() {
    let u = Updraft::with_folder(repo_root().join("dags")).await;
    u.ok(&["dags", "reserialize"]);
    let goldens = golden_files();
    assert!(
        goldens.len() >= 15,
        "at least 15 example DAG files are pinned"
    );
    let loaded: BTreeSet<String> = u.dag_ids().into_iter().collect();
    let mut diffs: Vec<String> = u
        .import_errors()
        .iter()
        .map(|e| format!("import error in {}: {}", e["filename"], e["message"]))
        .collect();
    let mut pinned = BTreeSet::new();
    for (file, golden) in &goldens {
        let v3 = golden["airflow_version"]
            .as_str()
            .is_some_and(|v| v.starts_with('3'));
        let dags = golden["dags"].as_object().expect("dags");
        assert!(!dags.is_empty(), "{file}: golden has no DAGs");
        for (dag_id, g) in dags {
            pinned.insert(dag_id.clone());
            if !loaded.contains(dag_id) {
                diffs.push(format!("{file}: DAG {dag_id} did not load"));
                continue;
            }
            let ours = u.json(&["dags", "show", dag_id, "--json"]);
            compare_dag(dag_id, &ours, g, v3, &mut diffs);
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences from Airflow:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    let unpinned: Vec<&String> = loaded
        .iter()
        .filter(|d| !pinned.contains(*d) && d.as_str() != "software_factory_pipeline")
        .collect();
    assert!(
        unpinned.is_empty(),
        "every example DAG has a golden: {unpinned:?}"
    );
}

// Invariant: the article's DAG loads unchanged with its four Kafka tasks in a
// chain, the article's argument values, and a warning for each xcom_pull
// that names a task id the DAG does not have ('ingest', 'run_quality_gate').
#[tokio::test]
async fn the_articles_dag_loads_unchanged() {
    let article = repo_root().join("dags/software_factory_pipeline.py");
    let seed = repo_root().join("../shared/seed/software_factory_pipeline.py");
    if let Ok(original) = std::fs::read(&seed) {
        assert_eq!(
            std::fs::read(&article).expect("article DAG"),
            original,
            "dags/ holds the article's DAG unchanged"
        );
    }
    let u = Updraft::new().await;
    u.write_dag(
        "software_factory_pipeline.py",
        &std::fs::read_to_string(&article).expect("read"),
    );
    u.ok(&["dags", "reserialize"]);
    assert!(u.import_errors().is_empty());
    let d = u.json(&["dags", "show", "software_factory_pipeline", "--json"]);
    assert_eq!(d["schedule"], json!({"type": "none"}));
    assert_eq!(d["catchup"], json!(false));
    assert_eq!(d["start_date"], json!("2026-01-01T00:00:00+00:00"));
    assert_eq!(d["owner"], json!("factory"));
    let tasks: Vec<(String, String, Value, Value)> = d["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["task_id"].as_str().unwrap_or("?").to_owned(),
                t["task_type"].as_str().unwrap_or("?").to_owned(),
                t["upstream_task_ids"].clone(),
                t["downstream_task_ids"].clone(),
            )
        })
        .collect();
    assert_eq!(
        tasks,
        vec![
            (
                "deploy".into(),
                "KafkaProduceOperator".into(),
                json!(["quality_gate"]),
                json!([])
            ),
            (
                "generate_code".into(),
                "KafkaProduceOperator".into(),
                json!(["ingest_spec"]),
                json!(["quality_gate"])
            ),
            (
                "ingest_spec".into(),
                "KafkaConsumeOperator".into(),
                json!([]),
                json!(["generate_code"])
            ),
            (
                "quality_gate".into(),
                "KafkaProduceOperator".into(),
                json!(["generate_code"]),
                json!(["deploy"])
            ),
        ]
    );
    for t in d["tasks"].as_array().expect("tasks") {
        assert_eq!(t["retries"], json!(2), "default_args retries");
        assert_eq!(t["retry_delay"], json!(300.0), "default_args retry_delay");
        assert_eq!(t["owner"], json!("factory"));
        assert_eq!(t["fields"]["kafka_config_id"], json!("kafka_default"));
    }
    let by_id = |id: &str| {
        d["tasks"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["task_id"] == id))
            .cloned()
            .expect(id)
    };
    assert_eq!(
        by_id("ingest_spec")["fields"]["topics"],
        json!(["jira-events"])
    );
    assert_eq!(
        by_id("ingest_spec")["operator_kind"],
        json!("kafka_consume")
    );
    assert_eq!(
        by_id("generate_code")["fields"]["topic"],
        json!("code-artifacts")
    );
    assert_eq!(
        by_id("generate_code")["operator_kind"],
        json!("kafka_produce")
    );
    assert_eq!(
        by_id("deploy")["fields"]["value"],
        json!("{{ task_instance.xcom_pull(task_ids='run_quality_gate') }}")
    );
    assert!(
        by_id("deploy")["template_fields"]
            .as_array()
            .expect("template_fields")
            .contains(&json!("value"))
    );

    let listed = u.json(&["dags", "list-warnings", "-o", "json"]);
    let warnings: Vec<(String, String)> = listed
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["dag_id"] == "software_factory_pipeline")
        .map(|w| {
            (
                w["task_id"].as_str().unwrap_or_default().to_owned(),
                w["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0].0, "deploy");
    assert!(
        warnings[0].1.contains("run_quality_gate"),
        "{}",
        warnings[0].1
    );
    assert_eq!(warnings[1].0, "generate_code");
    assert!(
        warnings[1].1.contains("'ingest'") || warnings[1].1.contains("\"ingest\""),
        "{}",
        warnings[1].1
    );
}
