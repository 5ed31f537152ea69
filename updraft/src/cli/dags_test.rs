//! `updraft dags test` and `updraft tasks test`: runs in this process, with
//! no scheduler or worker process, as Airflow's `dag.test()` and `tasks
//! test` do. The database holds the state (as in Airflow); the scheduling
//! is `updraft_scheduler::tasks::examine_run` and each try is
//! `updraft_worker::task::execute`, so nothing here decides or runs a task
//! itself: this module only loops, claims the run's own task instances and
//! prints their logs while they run.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use updraft_core::model::serialized::SerializedDag;
use updraft_core::store::dag_runs::{self, NewDagRun, RunType, python_isoformat};
use updraft_core::store::task_instances::{self, RunRef};
use updraft_core::store::ti_state::{self, TiRow, Transition};
use updraft_core::store::{task_logs, workers};
use updraft_core::timetable::{DagSchedule, ScheduleDefaults};
use updraft_scheduler::runs::{self, ManualTrigger};
use updraft_scheduler::tasks::{TaskPassOptions, TaskPassReport, examine_run};
use updraft_worker::task::{self, TaskEnv};
use uuid::Uuid;

/// How long the in-process worker owns a try without a heartbeat.
const LEASE: Duration = Duration::from_secs(30);
/// How often a running try's log is read and printed.
const LOG_POLL: Duration = Duration::from_millis(200);
/// The wait between scheduling rounds while nothing can run (retry delays,
/// reschedules); Airflow's `dag.test()` sleeps a second.
const IDLE: Duration = Duration::from_millis(500);

/// A worker living in this process: registered so the fences and leases of
/// `ti_state` work unchanged, removed again when done.
struct LocalWorker {
    env: TaskEnv,
}

impl LocalWorker {
    async fn start(pool: &PgPool) -> anyhow::Result<Self> {
        let id = Uuid::new_v4();
        let new = workers::NewWorker {
            id,
            hostname: updraft_core::observe::hostname(),
            pid: i32::try_from(std::process::id()).unwrap_or(0),
            queues: Vec::new(),
            concurrency: 1,
        };
        workers::register(&mut *pool.acquire().await?, &new).await?;
        Ok(Self {
            env: TaskEnv {
                pool: pool.clone(),
                worker_id: id,
                lease: LEASE,
                hitl: Default::default(),
            },
        })
    }

    fn id(&self) -> Uuid {
        self.env.worker_id
    }

    /// Runs one claimed try to its end, printing its log as it is written.
    async fn run_try(&self, ti: TiRow) -> anyhow::Result<()> {
        println!(
            "--- {}.{} (run {}, map index {}) try {} ---",
            ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number
        );
        let (ti_id, try_number) = (ti.id, ti.try_number);
        let mut running = tokio::spawn(task::execute(self.env.clone(), ti));
        let mut printed = 0usize;
        loop {
            tokio::select! {
                joined = &mut running => {
                    joined.context("the task run panicked")?;
                    break;
                }
                () = tokio::time::sleep(LOG_POLL) => {
                    printed = self.print_log(ti_id, try_number, printed).await?;
                }
            }
        }
        self.print_log(ti_id, try_number, printed).await?;
        Ok(())
    }

    /// Prints what the try's log holds beyond `printed` bytes; returns the new length.
    async fn print_log(
        &self,
        ti_id: Uuid,
        try_number: i32,
        printed: usize,
    ) -> anyhow::Result<usize> {
        let mut conn = self.env.pool.acquire().await?;
        let text = task_logs::read(&mut conn, ti_id, try_number).await?;
        if let Some(new) = text.get(printed..)
            && !new.is_empty()
        {
            print!("{new}");
            return Ok(text.len());
        }
        Ok(printed)
    }

    /// Marks the worker stopped and deletes its row.
    async fn stop(self) -> anyhow::Result<()> {
        let mut conn = self.env.pool.acquire().await?;
        workers::mark_stopped(&mut conn, self.id()).await?;
        workers::delete_stopped(&mut conn, self.id()).await?;
        Ok(())
    }
}

/// `dags test` arguments.
#[derive(Debug, clap::Args)]
pub struct DagTestArgs {
    pub dag_id: String,
    /// The run's logical date (ISO 8601). Default: now.
    #[arg(alias = "execution-date")]
    pub logical_date: Option<String>,
    /// The run's conf, a JSON object.
    #[arg(short, long)]
    pub conf: Option<String>,
}

/// Creates a manual run (replacing runs at the same logical date, as
/// Airflow does), then schedules and runs it here until it ends. Exit 1
/// when the run fails.
pub async fn dag_test(
    args: DagTestArgs,
    pool: &PgPool,
    defaults: &ScheduleDefaults,
) -> anyhow::Result<ExitCode> {
    let conf = parse_conf(args.conf.as_deref())?;
    let now = Utc::now();
    let logical_date = match &args.logical_date {
        Some(text) => super::dag_runs::parse_iso(text)?,
        None => now,
    };
    {
        let mut conn = pool.acquire().await?;
        if dag_runs::current_version(&mut conn, &args.dag_id)
            .await?
            .is_none()
        {
            anyhow::bail!("Dag {:?} could not be found", args.dag_id);
        }
        dag_runs::delete_at(&mut conn, &args.dag_id, logical_date).await?;
    }
    let req = ManualTrigger {
        dag_id: args.dag_id.clone(),
        conf,
        logical_date: Some(logical_date),
        run_id: None,
        triggered_by: "test",
        audit_owner: None,
    };
    let run = runs::trigger(pool, defaults, &req, now).await?;
    println!("dagrun id: {}, run id: {}", run.dag_id, run.run_id);
    dag_runs::start_one(&mut *pool.acquire().await?, &run.dag_id, &run.run_id, now).await?;
    let worker = LocalWorker::start(pool).await?;
    let result = drive(pool, &worker, &run.dag_id, &run.run_id).await;
    worker.stop().await?;
    result?;
    let mut conn = pool.acquire().await?;
    let end = dag_runs::get(&mut conn, &run.dag_id, &run.run_id)
        .await?
        .context("the test run disappeared")?;
    let tis = task_instances::views(&mut conn, &run.dag_id, Some(&run.run_id), None, None).await?;
    for ti in &tis {
        println!("{}: {}", ti.task_id, ti.state.as_deref().unwrap_or("None"));
    }
    println!("Dag run {} finished: {}", end.run_id, end.state);
    Ok(if end.state == "success" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Scheduling rounds until the run is no longer running: decide (the
/// scheduler's code), claim what is scheduled in this run, run it.
async fn drive(
    pool: &PgPool,
    worker: &LocalWorker,
    dag_id: &str,
    run_id: &str,
) -> anyhow::Result<()> {
    loop {
        let mut tx = pool.begin().await?;
        let Some(locked) = dag_runs::lock_one_running(&mut tx, dag_id, run_id).await? else {
            return Ok(());
        };
        let mut report = TaskPassReport::default();
        examine_run(
            &mut tx,
            &locked,
            &TaskPassOptions::default(),
            Utc::now(),
            &mut report,
        )
        .await?;
        tx.commit().await?;
        let tis = {
            let mut conn = pool.acquire().await?;
            ti_state::claim_in_run(&mut conn, worker.id(), dag_id, run_id, LEASE).await?
        };
        if tis.is_empty() && report.tis_decided + report.tis_finished + report.runs_finished == 0 {
            tokio::time::sleep(IDLE).await;
        }
        for ti in tis {
            worker.run_try(ti).await?;
        }
    }
}

fn parse_conf(text: Option<&str>) -> anyhow::Result<Value> {
    match text {
        None => Ok(Value::Object(Default::default())),
        Some(text) => {
            serde_json::from_str(text).with_context(|| format!("--conf is not valid JSON: {text}"))
        }
    }
}

/// `tasks test` arguments.
#[derive(Debug, clap::Args)]
pub struct TaskTestArgs {
    pub dag_id: String,
    pub task_id: String,
    /// A logical date (ISO 8601) or the run id of an existing run (its
    /// logical date and conf are used). Default: now.
    pub logical_date_or_run_id: Option<String>,
    #[arg(long, default_value_t = -1)]
    pub map_index: i32,
}

/// Runs one task, ignoring its dependencies, in a temporary run
/// (`__airflow_temporary_run_<now>__`, as Airflow 2.10 names it) holding
/// only that task instance, prints its log, and deletes the run with
/// everything the try wrote. Exit 1 when the task does not succeed.
pub async fn task_test(
    args: TaskTestArgs,
    pool: &PgPool,
    defaults: &ScheduleDefaults,
) -> anyhow::Result<ExitCode> {
    if args.map_index != -1 {
        anyhow::bail!("--map-index: mapped tasks are not supported yet");
    }
    let mut conn = pool.acquire().await?;
    let Some((version_id, data)) = dag_runs::current_version(&mut conn, &args.dag_id).await? else {
        anyhow::bail!("Dag {:?} could not be found", args.dag_id);
    };
    let new_ti = updraft_scheduler::plan::task_instances(&data.tasks)
        .into_iter()
        .find(|t| t.task_id == args.task_id)
        .with_context(|| format!("Task {:?} not found in DAG {:?}", args.task_id, args.dag_id))?;
    let now = Utc::now();
    let (logical_date, conf, interval) =
        run_context(&mut conn, &args, &data, defaults, now).await?;
    let run = NewDagRun {
        dag_id: args.dag_id.clone(),
        run_id: format!("__airflow_temporary_run_{}__", python_isoformat(now)),
        run_type: RunType::Manual,
        logical_date: Some(logical_date),
        data_interval: Some(interval),
        run_after: now,
        conf,
        triggered_by: "test",
    };
    drop(conn);
    let worker = LocalWorker::start(pool).await?;
    let result = run_one(pool, &worker, &run, version_id, &new_ti).await;
    let cleanup = async {
        let mut conn = pool.acquire().await?;
        dag_runs::delete(&mut conn, &run.dag_id, &run.run_id).await?;
        anyhow::Ok(())
    }
    .await;
    worker.stop().await?;
    cleanup?;
    let state = result?;
    println!("Task {} finished: {state}", args.task_id);
    Ok(if state == "success" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The temporary run, its one task instance claimed in the same
/// transaction (so no scheduler can touch it), then the try. Returns the
/// final state.
async fn run_one(
    pool: &PgPool,
    worker: &LocalWorker,
    run: &NewDagRun,
    version_id: i64,
    new_ti: &task_instances::NewTaskInstance,
) -> anyhow::Result<String> {
    let mut tx = pool.begin().await?;
    let created = dag_runs::insert(&mut tx, run)
        .await?
        .context("a temporary run with this id exists")?;
    let run_ref = RunRef {
        dag_id: &run.dag_id,
        run_id: &run.run_id,
        dag_version_id: created.dag_version_id.or(Some(version_id)),
    };
    let ti_id = task_instances::create_one(&mut tx, run_ref, new_ti).await?;
    let ti = match ti_state::claim_one_for_test(&mut tx, ti_id, worker.id(), LEASE).await? {
        Transition::Applied(ti) => ti,
        other => anyhow::bail!("cannot start the task instance: {other:?}"),
    };
    tx.commit().await?;
    worker.run_try(ti).await?;
    let mut conn = pool.acquire().await?;
    let views =
        task_instances::views(&mut conn, &run.dag_id, Some(&run.run_id), None, None).await?;
    Ok(views
        .first()
        .and_then(|v| v.state.clone())
        .unwrap_or_else(|| "None".to_owned()))
}

/// The logical date, conf and data interval of the temporary run: those of
/// the run named by the argument, or the date given (default now) with the
/// timetable's manual data interval.
async fn run_context(
    conn: &mut sqlx::PgConnection,
    args: &TaskTestArgs,
    dag: &SerializedDag,
    defaults: &ScheduleDefaults,
    now: DateTime<Utc>,
) -> anyhow::Result<(DateTime<Utc>, Value, (DateTime<Utc>, DateTime<Utc>))> {
    let mut logical_date = now;
    if let Some(arg) = &args.logical_date_or_run_id {
        let as_date = super::dag_runs::parse_iso(arg).ok();
        let found = dag_runs::find_by_id_or_date(conn, &args.dag_id, arg, as_date).await?;
        match (found, as_date) {
            (Some(r), _) => {
                if let (Some(at), Some(s), Some(e)) =
                    (r.logical_date, r.data_interval_start, r.data_interval_end)
                {
                    return Ok((at, r.conf, (s, e)));
                }
                logical_date = r.logical_date.unwrap_or(r.run_after);
            }
            (None, Some(at)) => logical_date = at,
            (None, None) => anyhow::bail!(
                "DagRun for {} with run_id or logical_date of {arg:?} not found",
                args.dag_id
            ),
        }
    }
    let schedule = DagSchedule::from_dag(dag, defaults).context("reading the DAG's schedule")?;
    let i = schedule.timetable.infer_manual_data_interval(logical_date);
    Ok((
        logical_date,
        Value::Object(Default::default()),
        (i.start, i.end),
    ))
}
