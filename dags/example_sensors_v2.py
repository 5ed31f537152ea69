"""Morning file drop: wait for inputs with the core sensors (Airflow 2 imports).

Covers: BashSensor, PythonSensor (op_kwargs, reschedule mode), FileSensor
(templated path, soft_fail), TimeSensor, TimeDeltaSensor, DateTimeSensor
(templated target_time), sensor ``poke_interval`` / ``timeout`` / ``mode`` /
``exponential_backoff``. Paths and times are such that a run would simply wait.
"""
from datetime import datetime, time, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.sensors.bash import BashSensor
from airflow.sensors.date_time import DateTimeSensor
from airflow.sensors.filesystem import FileSensor
from airflow.sensors.python import PythonSensor
from airflow.sensors.time_delta import TimeDeltaSensor
from airflow.sensors.time_sensor import TimeSensor


def _partner_api_ready(endpoint: str) -> bool:
    """Pure stand-in for a health check."""
    return endpoint.startswith("https://")


with DAG(
    dag_id="example_sensors_v2",
    schedule="0 5 * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"poke_interval": 30, "timeout": 600},
    tags=["example", "sensors", "v2"],
) as dag:
    wait_for_marker = BashSensor(
        task_id="wait_for_marker",
        bash_command="test -n 'ready'",
        poke_interval=10,
    )
    wait_for_api = PythonSensor(
        task_id="wait_for_partner_api",
        python_callable=_partner_api_ready,
        op_kwargs={"endpoint": "https://partner.example.com/health"},
        mode="reschedule",
        exponential_backoff=True,
    )
    wait_for_file = FileSensor(
        task_id="wait_for_drop_file",
        filepath="/tmp/updraft-drops/{{ ds_nodash }}/orders.csv",
        fs_conn_id="fs_default",
        soft_fail=True,
        timeout=120,
    )
    wait_until_six = TimeSensor(task_id="wait_until_six", target_time=time(6, 0))
    wait_after_interval = TimeDeltaSensor(task_id="wait_30_min_after_interval", delta=timedelta(minutes=30))
    wait_for_datetime = DateTimeSensor(
        task_id="wait_for_business_hours",
        target_time="{{ data_interval_end.replace(hour=8) }}",
    )
    process = BashOperator(task_id="process_drop", bash_command="echo processing {{ ds }}")

    [wait_for_marker, wait_for_api, wait_for_file] >> process
    wait_until_six >> wait_after_interval >> wait_for_datetime >> process
