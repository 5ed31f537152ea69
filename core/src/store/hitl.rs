//! `hitl_detail`: human-in-the-loop requests and their write-once answers
//! (Airflow 3.1's HITL). A worker asks ([`request`]) and its try waits in
//! `deferred` ([`super::ti_state::defer`]); a person answers ([`answer`]),
//! or the request times out ([`time_out`]), and the deferral becomes due, so
//! the scheduler resumes the same try, which reads the answer ([`get`]).

use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::Result;

/// What a try asks.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub ti_id: Uuid,
    pub try_number: i32,
    pub subject: String,
    pub body: Option<String>,
    pub options: Vec<String>,
    pub defaults: Option<Vec<String>>,
    pub multiple: bool,
    /// The form: `{name: {"value", "description", "schema"}}`.
    pub params: Json,
    /// `[{"id", "name"}]`; empty: Admin and Op may answer.
    pub assigned_users: Json,
    pub timeout_at: Option<DateTime<Utc>>,
}

/// A request with its task instance and its answer, if any.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Detail {
    pub ti_id: Uuid,
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub map_index: i32,
    pub ti_state: Option<String>,
    pub try_number: i32,
    pub subject: String,
    pub body: Option<String>,
    #[sqlx(json)]
    pub options: Vec<String>,
    #[sqlx(json(nullable))]
    pub defaults: Option<Vec<String>>,
    pub multiple: bool,
    pub params: Json,
    pub assigned_users: Json,
    pub created_at: DateTime<Utc>,
    pub timeout_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub responded_by: Option<Json>,
    #[sqlx(json(nullable))]
    pub chosen_options: Option<Vec<String>>,
    pub params_input: Option<Json>,
    pub timed_out: bool,
}

impl Detail {
    /// Answered, or timed out: nobody may answer any more.
    pub fn is_closed(&self) -> bool {
        self.responded_at.is_some() || self.timed_out
    }

    /// Whether `user` (id and name) is among the assigned users; `None`
    /// when nobody is assigned.
    pub fn is_assigned(&self, user_id: &str, username: &str) -> Option<bool> {
        let users = self.assigned_users.as_array().filter(|a| !a.is_empty())?;
        Some(users.iter().any(|u| {
            let id = match u.get("id") {
                Some(Json::String(s)) => Some(s.clone()),
                Some(Json::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            id.as_deref() == Some(user_id) || u.get("name").and_then(Json::as_str) == Some(username)
        }))
    }

    /// The XCom `return_value` of an answered request, in Airflow's shape.
    pub fn xcom(&self) -> Json {
        serde_json::json!({
            "chosen_options": self.chosen_options.clone().unwrap_or_default(),
            "params_input": self.params_input.clone().unwrap_or_else(|| serde_json::json!({})),
            "responded_at": self.responded_at.map(|t| t.to_rfc3339()),
            "responded_by_user": self.responded_by.clone(),
        })
    }
}

/// The request rows with their task instance, then `$rest`.
macro_rules! detail_sql {
    ($rest:literal) => {
        concat!(
            "SELECT h.ti_id, t.dag_id, t.run_id, t.task_id, t.map_index, t.state AS ti_state,
        h.try_number, h.subject, h.body, h.options, h.defaults, h.multiple, h.params,
        h.assigned_users, h.created_at, h.timeout_at, h.responded_at, h.responded_by,
        h.chosen_options, h.params_input, h.timed_out
   FROM hitl_detail h JOIN task_instance t ON t.id = h.ti_id ",
            $rest
        )
    };
}

/// Writes the request of a try; a row left by an earlier try is replaced
/// (its answer cleared), one of this try is kept as it is.
pub async fn request(conn: &mut PgConnection, r: &Request) -> Result<()> {
    sqlx::query(
        "INSERT INTO hitl_detail (ti_id, try_number, subject, body, options, defaults, multiple,
                                  params, assigned_users, timeout_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (ti_id) DO UPDATE
            SET try_number = EXCLUDED.try_number, subject = EXCLUDED.subject,
                body = EXCLUDED.body, options = EXCLUDED.options, defaults = EXCLUDED.defaults,
                multiple = EXCLUDED.multiple, params = EXCLUDED.params,
                assigned_users = EXCLUDED.assigned_users, timeout_at = EXCLUDED.timeout_at,
                created_at = now(), responded_at = NULL, responded_by = NULL,
                chosen_options = NULL, params_input = NULL, timed_out = false
          WHERE hitl_detail.try_number <> EXCLUDED.try_number",
    )
    .bind(r.ti_id)
    .bind(r.try_number)
    .bind(&r.subject)
    .bind(&r.body)
    .bind(serde_json::json!(r.options))
    .bind(r.defaults.as_ref().map(|d| serde_json::json!(d)))
    .bind(r.multiple)
    .bind(&r.params)
    .bind(&r.assigned_users)
    .bind(r.timeout_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The request of one task instance.
pub async fn get(conn: &mut PgConnection, ti_id: Uuid) -> Result<Option<Detail>> {
    Ok(sqlx::query_as(detail_sql!("WHERE h.ti_id = $1"))
        .bind(ti_id)
        .fetch_optional(conn)
        .await?)
}

/// The open requests (not answered, not timed out) of waiting task
/// instances, oldest first.
pub async fn list_open(pool: &PgPool) -> Result<Vec<Detail>> {
    Ok(sqlx::query_as(detail_sql!(
        "WHERE h.responded_at IS NULL AND NOT h.timed_out AND t.state = 'deferred'
          ORDER BY h.created_at, h.ti_id"
    ))
    .fetch_all(pool)
    .await?)
}

/// The most recent `limit` closed requests (answered or timed out), the
/// last closed first: the "Answered" section of the Required actions page.
pub async fn list_closed(pool: &PgPool, limit: i64) -> Result<Vec<Detail>> {
    Ok(sqlx::query_as(detail_sql!(
        "WHERE h.responded_at IS NOT NULL OR h.timed_out
          ORDER BY COALESCE(h.responded_at, h.timeout_at, h.created_at) DESC, h.ti_id
          LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The requests of one run (`None`: of any DAG or run), in task order:
/// the REST API's `hitlDetails` list and a run page's own "Required actions".
pub async fn list_for_run(
    pool: &PgPool,
    dag_id: Option<&str>,
    run_id: Option<&str>,
) -> Result<Vec<Detail>> {
    Ok(sqlx::query_as(detail_sql!(
        "WHERE ($1::text IS NULL OR t.dag_id = $1) AND ($2::text IS NULL OR t.run_id = $2)
          ORDER BY t.dag_id, t.run_id, t.task_id, t.map_index"
    ))
    .bind(dag_id)
    .bind(run_id)
    .fetch_all(pool)
    .await?)
}

/// How many requests are open (the header's badge).
pub async fn count_open(pool: &PgPool) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM hitl_detail h JOIN task_instance t ON t.id = h.ti_id
          WHERE h.responded_at IS NULL AND NOT h.timed_out AND t.state = 'deferred'",
    )
    .fetch_one(pool)
    .await?)
}

/// A person's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub chosen_options: Vec<String>,
    pub params_input: Json,
    /// `{"id", "name"}`.
    pub responded_by: Json,
}

/// What [`answer`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    Applied,
    NotFound,
    /// Answered before, or timed out: answers are write-once.
    AlreadyAnswered,
    /// The task instance is not waiting in `deferred` (not yet, or no more).
    NotWaiting,
    /// The choice breaks the request's rules (the reason in words).
    Invalid(String),
}

/// Checks a choice against the request: at least one option, all known,
/// one only unless `multiple`.
pub fn check_choice(options: &[String], multiple: bool, chosen: &[String]) -> Option<String> {
    if chosen.is_empty() {
        return Some("Choose an option.".to_owned());
    }
    if let Some(bad) = chosen.iter().find(|c| !options.contains(c)) {
        return Some(format!("{bad:?} is not one of the options {options:?}."));
    }
    if !multiple && chosen.len() > 1 {
        return Some("Only one option may be chosen.".to_owned());
    }
    None
}

/// Records a person's answer, once, and makes the waiting try due: the
/// row is locked, the answer written only while nobody answered and it did
/// not time out, and the task instance (still `deferred`) is resumed.
/// Who may answer is the caller's check ([`Detail::is_assigned`]).
pub async fn answer(conn: &mut PgConnection, ti_id: Uuid, a: &Answer) -> Result<Answered> {
    let locked: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM hitl_detail WHERE ti_id = $1 FOR UPDATE")
            .bind(ti_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(d) = locked.and(get(conn, ti_id).await?) else {
        return Ok(Answered::NotFound);
    };
    if d.is_closed() {
        return Ok(Answered::AlreadyAnswered);
    }
    if d.ti_state.as_deref() != Some("deferred") {
        return Ok(Answered::NotWaiting);
    }
    let (options, multiple) = (d.options, d.multiple);
    if let Some(why) = check_choice(&options, multiple, &a.chosen_options) {
        return Ok(Answered::Invalid(why));
    }
    sqlx::query(
        "UPDATE hitl_detail SET responded_at = now(), responded_by = $2, chosen_options = $3,
                params_input = $4
          WHERE ti_id = $1 AND responded_at IS NULL AND NOT timed_out",
    )
    .bind(ti_id)
    .bind(&a.responded_by)
    .bind(serde_json::json!(a.chosen_options))
    .bind(&a.params_input)
    .execute(&mut *conn)
    .await?;
    super::ti_state::resume_deferred(conn, ti_id, Utc::now()).await?;
    Ok(Answered::Applied)
}

/// A person's answer as the UI and the REST API record it: [`answer`],
/// then, when applied, the `hitl_answered` audit row by `by_user` (its
/// `extra` with `"source": source`) and the wake-up that makes the
/// scheduler resume the try, all in the caller's transaction.
pub async fn respond(
    conn: &mut PgConnection,
    d: &Detail,
    a: &Answer,
    by_user: &str,
    source: &str,
) -> Result<Answered> {
    let outcome = answer(conn, d.ti_id, a).await?;
    if outcome != Answered::Applied {
        return Ok(outcome);
    }
    let entry = super::audit::AuditEntry {
        event: "hitl_answered",
        owner: by_user,
        dag_id: Some(&d.dag_id),
        extra: serde_json::json!({
            "ti_id": d.ti_id, "run_id": d.run_id, "task_id": d.task_id,
            "map_index": d.map_index, "chosen_options": a.chosen_options,
            "params_input": a.params_input, "source": source,
        }),
    };
    super::audit::record(conn, &entry).await?;
    super::events::notify(conn, super::events::TI_FINISHED).await?;
    Ok(outcome)
}

/// The request of a resumed try ran out of time (the try checks, at
/// `timeout_at`): with defaults they become the answer (`responded_by`
/// null, `params_input` the form's default values), else it only closes.
/// Returns the row after, or `None` when it was answered meanwhile (the
/// answer stands).
pub async fn time_out(
    conn: &mut PgConnection,
    ti_id: Uuid,
    default_params: &Json,
) -> Result<Option<Detail>> {
    let done = sqlx::query(
        "UPDATE hitl_detail
            SET timed_out = true,
                responded_at = CASE WHEN defaults IS NOT NULL THEN now() END,
                chosen_options = defaults,
                params_input = CASE WHEN defaults IS NOT NULL THEN $2::jsonb END
          WHERE ti_id = $1 AND responded_at IS NULL AND NOT timed_out",
    )
    .bind(ti_id)
    .bind(default_params)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    get(conn, ti_id).await
}
