//! `variables`, `connections` and `pools` through the real binary: each
//! command's output and errors, and round trips export → delete → import.

mod support;

use serde_json::{Value, json};
use support::Updraft;

fn fail(u: &Updraft, args: &[&str]) -> String {
    let out = u.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} should fail");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: one line on stderr: {stderr}"
    );
    stderr
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

// Variables survive export → delete → import unchanged, JSON values as JSON.
#[tokio::test]
async fn variables_round_trip() {
    let u = Updraft::new().await;
    assert_eq!(
        u.ok(&["variables", "set", "plain", "hello world"]),
        "Variable plain created\n"
    );
    u.ok(&[
        "variables",
        "set",
        "obj",
        r#"{"a": [1, 2]}"#,
        "--description",
        "an object",
    ]);
    assert_eq!(u.ok(&["variables", "get", "plain"]), "hello world\n");
    let obj: Value =
        serde_json::from_str(&u.ok(&["variables", "get", "obj", "--json"])).expect("json");
    assert_eq!(obj, json!({"a": [1, 2]}));
    assert_eq!(u.ok(&["variables", "get", "gone", "-d", "dflt"]), "dflt\n");
    let keys = u.json(&["variables", "list", "-o", "json"]);
    assert_eq!(
        keys,
        json!([{"key": "obj"}, {"key": "plain"}]),
        "keys only, no values"
    );

    let file = u.home.path().join("vars.json");
    let file_s = file.to_str().expect("utf-8");
    u.ok(&["variables", "export", file_s]);
    assert_eq!(
        read_json(&file),
        json!({"obj": {"a": [1, 2]}, "plain": "hello world"})
    );
    u.ok(&["variables", "delete", "plain"]);
    u.ok(&["variables", "delete", "obj"]);
    assert!(fail(&u, &["variables", "get", "plain"]).contains("does not exist"));
    assert_eq!(
        u.ok(&["variables", "import", file_s]),
        "2 of 2 variables successfully updated.\n"
    );
    assert_eq!(u.ok(&["variables", "get", "plain"]), "hello world\n");
    let obj: Value = serde_json::from_str(&u.ok(&["variables", "get", "obj"])).expect("json");
    assert_eq!(obj, json!({"a": [1, 2]}));

    // Errors: missing key, bad files, existing keys with --action-on-existing-key fail.
    assert!(fail(&u, &["variables", "delete", "nope"]).contains("nope"));
    std::fs::write(&file, "[1, 2]").expect("write");
    assert!(fail(&u, &["variables", "import", file_s]).contains("Invalid"));
    fail(&u, &["variables", "import", "/nonexistent/vars.json"]);
    std::fs::write(&file, r#"{"plain": "other"}"#).expect("write");
    fail(&u, &["variables", "import", file_s, "-a", "fail"]);
    u.ok(&["variables", "import", file_s, "-a", "skip"]);
    assert_eq!(u.ok(&["variables", "get", "plain"]), "hello world\n");
    fail(&u, &["variables", "set", "j", "{bad", "--json"]);
}

// Connections: Airflow's flags, URI and JSON forms, get -o json, export → import.
#[tokio::test]
async fn connections_round_trip() {
    let u = Updraft::new().await;
    let out = u.ok(&[
        "connections",
        "add",
        "pg",
        "--conn-uri",
        "postgres://us%40er:s3cr%2Ft@db.example:5432/app?sslmode=require",
    ]);
    assert!(out.starts_with("Successfully added `conn_id`=pg"), "{out}");
    let out = u.ok(&[
        "connections",
        "add",
        "http",
        "--conn-type",
        "http",
        "--conn-host",
        "api.example",
        "--conn-login",
        "me",
        "--conn-password",
        "pw",
        "--conn-port",
        "8443",
        "--conn-extra",
        r#"{"verify": false}"#,
        "--conn-description",
        "the API",
    ]);
    assert!(!out.contains("pw"), "add does not echo the password: {out}");
    u.ok(&[
        "connections",
        "add",
        "j",
        "--conn-json",
        r#"{"conn_type": "kafka", "extra": {"bootstrap.servers": "b:9092"}}"#,
    ]);

    let pg = &u.json(&["connections", "get", "pg", "-o", "json"])[0];
    assert_eq!(pg["conn_id"], "pg");
    assert_eq!(pg["conn_type"], "postgres");
    assert_eq!(pg["host"], "db.example");
    assert_eq!(pg["login"], "us@er");
    assert_eq!(pg["password"], "s3cr/t");
    assert_eq!(pg["port"], 5432);
    assert_eq!(pg["schema"], "app");
    assert_eq!(pg["extra_dejson"], json!({"sslmode": "require"}));
    assert_eq!(
        pg["get_uri"],
        "postgres://us%40er:s3cr%2Ft@db.example:5432/app?sslmode=require"
    );
    let http = &u.json(&["connections", "get", "http", "-o", "json"])[0];
    assert_eq!(http["description"], "the API");
    assert_eq!(http["port"], 8443);
    assert_eq!(http["extra_dejson"], json!({"verify": false}));
    let j = &u.json(&["connections", "get", "j", "-o", "json"])[0];
    assert_eq!(j["extra_dejson"], json!({"bootstrap.servers": "b:9092"}));
    let listed = u.json(&["connections", "list", "-o", "json"]);
    let ids: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["conn_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["http", "j", "pg"]);

    let file = u.home.path().join("conns.json");
    let file_s = file.to_str().expect("utf-8");
    u.ok(&["connections", "export", file_s]);
    let exported = read_json(&file);
    assert_eq!(exported["http"]["password"], "pw");
    assert_eq!(exported["http"]["host"], "api.example");
    assert_eq!(exported["pg"]["schema"], "app");
    let before: Vec<Value> = ["pg", "http", "j"]
        .iter()
        .map(|id| u.json(&["connections", "get", id, "-o", "json"]))
        .collect();
    for id in ["pg", "http", "j"] {
        u.ok(&["connections", "delete", id]);
    }
    assert!(fail(&u, &["connections", "get", "pg"]).contains("pg"));
    let out = u.ok(&["connections", "import", file_s]);
    assert_eq!(out.matches("Imported connection").count(), 3, "{out}");
    let after: Vec<Value> = ["pg", "http", "j"]
        .iter()
        .map(|id| u.json(&["connections", "get", id, "-o", "json"]))
        .collect();
    assert_eq!(before, after);
    let again = u.ok(&["connections", "import", file_s]);
    assert_eq!(again.matches("already exists").count(), 3, "{again}");

    // Errors.
    assert!(fail(&u, &["connections", "add", "pg", "--conn-type", "x"]).contains("already exists"));
    assert!(fail(&u, &["connections", "add", "n"]).contains("conn-type"));
    assert!(
        fail(
            &u,
            &[
                "connections",
                "add",
                "n",
                "--conn-type",
                "x",
                "--conn-extra",
                "{bad"
            ]
        )
        .contains("--conn-extra")
    );
    assert!(fail(&u, &["connections", "delete", "nope"]).contains("nope"));
    std::fs::write(&file, "not json").expect("write");
    fail(&u, &["connections", "import", file_s]);
}

// Pools: set/get/list/delete and export → import; default_pool stays.
#[tokio::test]
async fn pools_round_trip() {
    let u = Updraft::new().await;
    // `set` prints the pool as a table.
    let shown = u.ok(&["pools", "set", "small", "2", "two slots"]);
    assert!(
        shown.contains("small") && shown.contains("two slots"),
        "{shown}"
    );
    u.ok(&[
        "pools",
        "set",
        "big",
        "-1",
        "unlimited",
        "--include-deferred",
    ]);
    let big = &u.json(&["pools", "get", "big", "-o", "json"])[0];
    assert_eq!(
        big,
        &json!({"pool": "big", "slots": -1, "description": "unlimited", "include_deferred": true})
    );
    let names: Vec<String> = u
        .json(&["pools", "list", "-o", "json"])
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["pool"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, ["big", "default_pool", "small"]);

    let file = u.home.path().join("pools.json");
    let file_s = file.to_str().expect("utf-8");
    u.ok(&["pools", "export", file_s]);
    assert_eq!(
        read_json(&file)["small"],
        json!({"slots": 2, "description": "two slots", "include_deferred": false})
    );
    let before = u.json(&["pools", "list", "-o", "json"]);
    u.ok(&["pools", "delete", "small"]);
    u.ok(&["pools", "delete", "big"]);
    assert!(fail(&u, &["pools", "get", "small"]).contains("does not exist"));
    assert_eq!(u.ok(&["pools", "import", file_s]), "Uploaded 3 pool(s)\n");
    assert_eq!(u.json(&["pools", "list", "-o", "json"]), before);

    assert!(fail(&u, &["pools", "delete", "default_pool"]).contains("default_pool"));
    assert!(fail(&u, &["pools", "delete", "nope"]).contains("nope"));
    fail(&u, &["pools", "set", "bad", "-5", "x"]);
    // A usage error is clap's (with its usage lines), still a non-zero exit.
    assert!(
        !u.run(&["pools", "set", "bad", "many", "x"])
            .status
            .success()
    );
    std::fs::write(&file, r#"{"p": {"slots": "x"}}"#).expect("write");
    assert!(fail(&u, &["pools", "import", file_s]).contains("Invalid"));
}
