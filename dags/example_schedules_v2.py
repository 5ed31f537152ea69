"""Housekeeping DAGs, one per kind of schedule (Airflow 2 spelling).

Covers: ``schedule_interval`` and ``schedule`` with a cron preset, a cron
string, a ``timedelta``, ``None``, ``"@once"``, ``"@continuous"`` (which needs
``max_active_runs=1``) and a ``CronTriggerTimetable`` instance. Several DAGs in
one file.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.timetables.trigger import CronTriggerTimetable

START = datetime(2024, 1, 1)

with DAG(
    "sched_v2_hourly_preset",
    schedule_interval="@hourly",
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v2"],
):
    BashOperator(task_id="rotate_logs", bash_command="echo rotating logs for {{ ts }}")

with DAG(
    "sched_v2_weekday_cron",
    schedule="30 6 * * 1-5",
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v2"],
):
    BashOperator(task_id="morning_digest", bash_command="echo digest for {{ ds }}")

with DAG(
    "sched_v2_every_six_hours",
    schedule=timedelta(hours=6),
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v2"],
):
    BashOperator(task_id="refresh_cache", bash_command="sleep 1")

with DAG(
    "sched_v2_manual_only",
    schedule_interval=None,
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v2"],
):
    EmptyOperator(task_id="manual_step")

with DAG(
    "sched_v2_once",
    schedule="@once",
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v2"],
):
    BashOperator(task_id="bootstrap", bash_command="echo bootstrapping once")

with DAG(
    "sched_v2_continuous",
    schedule="@continuous",
    max_active_runs=1,
    start_date=START,
    catchup=False,
    is_paused_upon_creation=True,
    tags=["example", "schedules", "v2"],
):
    BashOperator(task_id="poll_queue", bash_command="sleep 1")

with DAG(
    "sched_v2_cron_trigger_timetable",
    schedule=CronTriggerTimetable("0 7 * * *", timezone="UTC"),
    start_date=START,
    catchup=False,
    tags=["example", "schedules", "v2"],
):
    BashOperator(task_id="send_kpis", bash_command="echo kpis at {{ logical_date }}")
