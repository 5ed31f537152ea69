"""Nightly sales report, written the classic Airflow 2 way.

Covers: DAG as a context manager, ``schedule_interval`` with a cron preset,
``default_args`` (including ``params``), DummyOperator / EmptyOperator,
BashOperator with ``env`` / ``append_env`` / ``cwd`` and templated commands
(``ds``, ``params``, ``var``, ``macros``), and the ``>>`` / ``<<`` /
``set_upstream`` / ``set_downstream`` dependency forms with lists on either side.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.dummy import DummyOperator
from airflow.operators.empty import EmptyOperator

default_args = {
    "owner": "analytics",
    "retries": 1,
    "retry_delay": timedelta(minutes=2),
    "params": {"region": "emea"},
}

with DAG(
    dag_id="example_basic_v2",
    description="Nightly sales report (Airflow 2 style)",
    schedule_interval="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args=default_args,
    params={"report_name": "daily_sales"},
    tags=["example", "reports", "v2"],
) as dag:
    start = DummyOperator(task_id="start")

    extract = BashOperator(
        task_id="extract",
        bash_command="echo extracting {{ params.report_name }} for {{ params.region }} on {{ ds }}",
        env={"STAGE": "extract"},
        append_env=True,
    )

    transform_orders = BashOperator(
        task_id="transform_orders",
        bash_command="echo orders until {{ macros.ds_add(ds, 1) }} && sleep 1",
        cwd="/tmp",
    )

    transform_refunds = BashOperator(
        task_id="transform_refunds",
        bash_command="echo refunds for {{ ds_nodash }}",
    )

    load = BashOperator(
        task_id="load",
        bash_command="echo {{ var.value.get('report_greeting', 'hello') }} from {{ dag.dag_id }}",
    )

    archive = BashOperator(task_id="archive", bash_command="true")
    notify = EmptyOperator(task_id="notify")
    end = EmptyOperator(task_id="end")

    start >> extract
    extract >> [transform_orders, transform_refunds]
    [transform_orders, transform_refunds] >> load
    notify << load
    load.set_downstream(archive)
    end.set_upstream([notify, archive])
