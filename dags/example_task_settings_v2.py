"""Warehouse load tuned with per-task execution settings (Airflow 2 imports).

Covers: ``retries`` / ``retry_delay`` / ``retry_exponential_backoff`` /
``max_retry_delay``, ``pool`` / ``pool_slots``, ``queue``, ``priority_weight``
with each ``weight_rule`` (downstream, upstream, absolute), ``depends_on_past``,
``wait_for_downstream``, ``execution_timeout``, ``max_active_tis_per_dag``,
``max_active_tis_per_dagrun``, and DAG-level ``max_active_runs`` /
``max_active_tasks`` / ``dagrun_timeout`` with settings coming from
``default_args`` and overridden per task.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator

default_args = {
    "owner": "warehouse",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "queue": "etl",
    "pool": "warehouse_pool",
    "execution_timeout": timedelta(minutes=10),
}

with DAG(
    dag_id="example_task_settings_v2",
    schedule_interval="15 2 * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=2,
    max_active_tasks=4,
    dagrun_timeout=timedelta(hours=1),
    default_args=default_args,
    tags=["example", "settings", "v2"],
) as dag:
    stage = BashOperator(
        task_id="stage_files",
        bash_command="sleep 1",
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(minutes=5),
        priority_weight=10,
        weight_rule="absolute",
    )
    load_facts = BashOperator(
        task_id="load_facts",
        bash_command="echo load facts",
        depends_on_past=True,
        pool_slots=2,
        priority_weight=5,
        weight_rule="upstream",
        max_active_tis_per_dag=1,
    )
    load_dims = BashOperator(
        task_id="load_dimensions",
        bash_command="echo load dims",
        wait_for_downstream=True,
        queue="high_memory",
        retries=0,
        max_active_tis_per_dagrun=1,
    )
    refresh = BashOperator(
        task_id="refresh_views",
        bash_command="echo refresh",
        pool="default_pool",
        execution_timeout=timedelta(seconds=90),
        retry_delay=timedelta(minutes=1),
        priority_weight=3,
        weight_rule="downstream",
    )
    done = EmptyOperator(task_id="done", retries=0)

    stage >> [load_facts, load_dims] >> refresh >> done
