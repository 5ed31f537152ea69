"""Downstream reporting that depends on other DAGs (Airflow 3 Task SDK).

Covers: ExternalTaskSensor (single task with ``execution_delta``, and a whole
task group via ``external_task_group_id``), LatestOnlyOperator,
TriggerDagRunOperator (templated ``conf``, ``wait_for_completion=False``) and
an ExternalTaskMarker.
"""
from datetime import timedelta

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.providers.standard.sensors.external_task import ExternalTaskMarker, ExternalTaskSensor
from airflow.sdk import DAG

with DAG(
    dag_id="example_cross_dag_v3",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "cross_dag", "v3"],
) as dag:
    wait_for_report = ExternalTaskSensor(
        task_id="wait_for_sales_report",
        external_dag_id="example_basic_v3",
        external_task_id="load",
        execution_delta=timedelta(hours=0),
        allowed_states=["success"],
        failed_states=["failed", "upstream_failed"],
        mode="reschedule",
        poke_interval=60,
        timeout=3600,
    )
    wait_for_quality = ExternalTaskSensor(
        task_id="wait_for_quality_group",
        external_dag_id="example_task_groups_v3",
        external_task_group_id="quality",
        mode="reschedule",
        timeout=3600,
    )
    latest_only = LatestOnlyOperator(task_id="latest_only")
    publish = BashOperator(task_id="publish_dashboard", bash_command="echo publishing {{ ds }}")
    trigger = TriggerDagRunOperator(
        task_id="trigger_taskflow",
        trigger_dag_id="example_taskflow_v3",
        conf={"batch_size": 20, "requested_by": "{{ dag.dag_id }}"},
        wait_for_completion=False,
        reset_dag_run=False,
    )
    marker = ExternalTaskMarker(
        task_id="mark_python_pipeline",
        external_dag_id="example_python_operators_v3",
        external_task_id="compute_invoice_total",
    )

    [wait_for_report, wait_for_quality] >> latest_only >> publish >> [trigger, marker]
