"""Housekeeping DAGs, one per kind of schedule (Airflow 3 Task SDK).

Covers: ``schedule`` with a cron preset, a cron string, a ``timedelta``,
``None``, ``"@once"``, ``"@continuous"`` (which needs ``max_active_runs=1``),
and ``CronTriggerTimetable`` instances (with and without ``interval``).
Several DAGs in one file.
"""
from datetime import timedelta

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.timetables.trigger import CronTriggerTimetable

START = pendulum.datetime(2024, 1, 1, tz="UTC")

with DAG(
    "sched_v3_hourly_preset",
    schedule="@hourly",
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v3"],
):
    BashOperator(task_id="rotate_logs", bash_command="echo rotating logs for {{ ts }}")

with DAG(
    "sched_v3_weekday_cron",
    schedule="30 6 * * 1-5",
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v3"],
):
    BashOperator(task_id="morning_digest", bash_command="echo digest for {{ ds }}")

with DAG(
    "sched_v3_every_six_hours",
    schedule=timedelta(hours=6),
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v3"],
):
    BashOperator(task_id="refresh_cache", bash_command="sleep 1")

with DAG(
    "sched_v3_manual_only",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v3"],
):
    EmptyOperator(task_id="manual_step")

with DAG(
    "sched_v3_once",
    schedule="@once",
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v3"],
):
    BashOperator(task_id="bootstrap", bash_command="echo bootstrapping once")

with DAG(
    "sched_v3_continuous",
    schedule="@continuous",
    max_active_runs=1,
    start_date=START,
    catchup=False,
    is_paused_upon_creation=True,
    tags=["example", "schedules", "v3"],
):
    BashOperator(task_id="poll_queue", bash_command="sleep 1")

with DAG(
    "sched_v3_cron_trigger_timetable",
    schedule=CronTriggerTimetable("0 7 * * *", timezone="Europe/Amsterdam"),
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v3"],
):
    BashOperator(task_id="send_kpis", bash_command="echo kpis at {{ logical_date }}")

with DAG(
    "sched_v3_cron_trigger_with_interval",
    schedule=CronTriggerTimetable("0 2 * * *", timezone="UTC", interval=timedelta(days=1)),
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v3"],
):
    BashOperator(
        task_id="nightly_window",
        bash_command="echo window {{ data_interval_start }} to {{ data_interval_end }}",
    )
