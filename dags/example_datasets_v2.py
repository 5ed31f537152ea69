"""Data-aware scheduling with Datasets (Airflow 2 spelling).

Covers: task ``outlets`` with ``Dataset``s (classic operator and ``@task``),
a DAG scheduled on a list of Datasets (all must update), one scheduled on a
Dataset expression (``|`` / ``&``), and ``DatasetOrTimeSchedule`` mixing a
cron trigger with Datasets.
"""
from datetime import datetime

from airflow import DAG
from airflow.datasets import Dataset
from airflow.decorators import task
from airflow.operators.bash import BashOperator
from airflow.timetables.datasets import DatasetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

orders = Dataset("s3://warehouse/raw/orders.parquet")
customers = Dataset("s3://warehouse/raw/customers.parquet")
refunds = Dataset("s3://warehouse/raw/refunds.parquet", extra={"owner": "finance"})
mart = Dataset("postgres://analytics/public/sales_mart")

with DAG(
    dag_id="datasets_v2_producer",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "datasets", "v2"],
):
    export_orders = BashOperator(
        task_id="export_orders",
        bash_command="echo exporting orders for {{ ds }}",
        outlets=[orders],
    )

    @task(outlets=[customers, refunds])
    def export_customers_and_refunds():
        return "exported"

    export_orders >> export_customers_and_refunds()

with DAG(
    dag_id="datasets_v2_build_mart",
    schedule=[orders, customers],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "datasets", "v2"],
):
    BashOperator(task_id="build_mart", bash_command="echo building mart", outlets=[mart])

with DAG(
    dag_id="datasets_v2_reconcile",
    schedule=(orders | refunds) & customers,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "datasets", "v2"],
):
    BashOperator(task_id="reconcile", bash_command="echo reconciling")

with DAG(
    dag_id="datasets_v2_mart_or_nightly",
    schedule=DatasetOrTimeSchedule(timetable=CronTriggerTimetable("0 3 * * *", timezone="UTC"), datasets=[mart]),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "datasets", "v2"],
):
    BashOperator(task_id="refresh_dashboards", bash_command="echo refreshing dashboards")
