//! What the API's router tests share: the API router on a database of the
//! test's own, users with roles, tokens from `POST /auth/token`, JSON
//! requests through tower's `oneshot`, and a small stored DAG.
#![allow(dead_code)] // each test file uses a different part

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;
use updraft_api::ApiState;
use updraft_core::auth::password::hash_password;
use updraft_core::config::ApiAuthSettings;
use updraft_core::model::SerializedDag;
use updraft_core::store::dags::{self, DagSource, DagUpsert};
use updraft_core::store::users::{self, CreateOutcome, NewUser};
use updraft_core::timetable::ScheduleDefaults;
use updraft_testkit::TestDb;

pub const SCHEDULE: ScheduleDefaults = ScheduleDefaults {
    catchup_by_default: false,
    create_cron_data_intervals: true,
};

pub struct Api {
    pub db: TestDb,
    pub app: Router,
}

/// A response's status and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
}

impl Api {
    pub async fn new() -> Self {
        let db = TestDb::new().await.expect("test database");
        let auth = ApiAuthSettings {
            jwt_secret: None,
            jwt_expiration_time: 3600,
        };
        let app = updraft_api::router(ApiState::new(db.pool.clone(), SCHEDULE, &auth));
        Self { db, app }
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    pub async fn user(&self, username: &str, password: &str, role: &str) {
        let hash = hash_password(password).expect("hash");
        let mut conn = self.pool().acquire().await.expect("conn");
        let out = users::create(
            &mut conn,
            &NewUser {
                username,
                password_hash: &hash,
                role,
                email: None,
                first_name: "",
                last_name: "",
            },
        )
        .await
        .expect("create user");
        assert!(matches!(out, CreateOutcome::Created(_)), "{out:?}");
    }

    /// A user with `role` and a token of theirs.
    pub async fn token_for(&self, role: &str) -> String {
        let name = format!("u_{}", role.to_lowercase());
        self.user(&name, "pw", role).await;
        let r = self
            .call(
                "POST",
                "/auth/token",
                None,
                Some(json!({"username": name, "password": "pw"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        r.body["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        self.send(req).await
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.app.clone().oneshot(req).await.expect("response");
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None).await
    }

    /// Stores `data` as the parse child would have, with `tags`.
    pub async fn store_dag(&self, data: &Value) {
        let dag: SerializedDag = serde_json::from_value(data.clone()).expect("serialized dag");
        let text = data.to_string();
        let file = format!("{}.py", data["dag_id"].as_str().expect("dag_id"));
        let mut tx = self.pool().begin().await.expect("tx");
        dags::lock_for_versioning(&mut tx).await.expect("lock");
        dags::store_parsed(
            &mut tx,
            &[DagUpsert {
                dag,
                dag_hash: format!("{:x}", text.len()),
                data: text,
                relative_fileloc: file.clone(),
                source_hash: format!("src-{file}"),
                warnings: Vec::new(),
            }],
            &[DagSource {
                source_hash: format!("src-{file}"),
                fileloc: format!("/dags/{file}"),
                source_code: "# dag".into(),
            }],
            false,
        )
        .await
        .expect("store dag");
        tx.commit().await.expect("commit");
    }

    /// The audit rows of `event`, as (owner, extra).
    pub async fn audit(&self, event: &str) -> Vec<(String, Value)> {
        sqlx::query_as("SELECT owner, extra FROM audit_log WHERE event = $1 ORDER BY id")
            .bind(event)
            .fetch_all(self.pool())
            .await
            .expect("audit rows")
    }
}

/// A DAG `dag_id` of three Empty tasks a >> b >> c, no schedule, `tags`.
pub fn chain_dag(dag_id: &str, tags: &[&str]) -> Value {
    let task = |id: &str, up: &[&str], down: &[&str]| {
        json!({"task_id": id, "task_type": "EmptyOperator", "operator_kind": "empty",
               "upstream_task_ids": up, "downstream_task_ids": down})
    };
    json!({
        "dag_id": dag_id, "fileloc": format!("/dags/{dag_id}.py"), "schedule": {"type": "none"},
        "start_date": "2026-01-01T00:00:00+00:00", "tags": tags, "catchup": false,
        "description": format!("the {dag_id} DAG"), "owner": "ada, bob",
        "tasks": [task("a", &[], &["b"]), task("b", &["a"], &["c"]), task("c", &["b"], &[])]
    })
}
