"""Data-aware scheduling with Assets (Airflow 3 Task SDK).

Covers: task ``outlets`` with ``Asset``s (classic operator and ``@task``), a
DAG scheduled on a list of Assets (all must update), one scheduled on an
Asset expression (``|`` / ``&``), and ``AssetOrTimeSchedule`` mixing a cron
trigger with Assets.
"""
import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

orders = Asset("s3://warehouse/raw/orders.parquet")
customers = Asset(name="customers", uri="s3://warehouse/raw/customers.parquet", group="raw")
refunds = Asset("s3://warehouse/raw/refunds.parquet", extra={"owner": "finance"})
mart = Asset("postgres://analytics/public/sales_mart")

START = pendulum.datetime(2024, 1, 1, tz="UTC")

with DAG(
    dag_id="assets_v3_producer",
    schedule="@daily",
    start_date=START,
    catchup=False,
    tags=["example", "assets", "v3"],
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
    dag_id="assets_v3_build_mart",
    schedule=[orders, customers],
    start_date=START,
    catchup=False,
    tags=["example", "assets", "v3"],
):
    BashOperator(task_id="build_mart", bash_command="echo building mart", outlets=[mart])

with DAG(
    dag_id="assets_v3_reconcile",
    schedule=(orders | refunds) & customers,
    start_date=START,
    catchup=False,
    tags=["example", "assets", "v3"],
):
    BashOperator(task_id="reconcile", bash_command="echo reconciling")

with DAG(
    dag_id="assets_v3_mart_or_nightly",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 3 * * *", timezone="UTC"), assets=[mart]),
    start_date=START,
    catchup=False,
    tags=["example", "assets", "v3"],
):
    BashOperator(task_id="refresh_dashboards", bash_command="echo refreshing dashboards")
