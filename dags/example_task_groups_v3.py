"""Regional ETL organised in task groups (Airflow 3 Task SDK).

Covers: ``TaskGroup`` as a context manager with nested groups and group-id
prefixing, ``prefix_group_id=False``, group ``default_args`` / ``tooltip``,
``@task_group`` (nested, and called twice so the second call gets a
``__1`` suffix), and edges group >> task, task >> group, group >> group.
"""
import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup, task, task_group

with DAG(
    dag_id="example_task_groups_v3",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "task_groups", "v3"],
) as dag:
    start = EmptyOperator(task_id="start")

    with TaskGroup("extract", tooltip="Pull the raw files") as extract:
        with TaskGroup("europe") as europe:
            BashOperator(task_id="fetch_de", bash_command="echo de")
            BashOperator(task_id="fetch_fr", bash_command="echo fr")
        with TaskGroup("americas", default_args={"retries": 3}) as americas:
            BashOperator(task_id="fetch_us", bash_command="echo us")
        europe >> americas

    with TaskGroup("quality", prefix_group_id=False) as quality:
        null_check = EmptyOperator(task_id="null_check")
        row_count_check = EmptyOperator(task_id="row_count_check")
        null_check >> row_count_check

    @task
    def load_table(table: str) -> str:
        return f"loaded {table}"

    @task
    def vacuum(result: str) -> str:
        return result + " and vacuumed"

    @task_group(group_id="load")
    def load_group(table: str):
        @task_group
        def maintenance(result):
            vacuum(result)

        maintenance(load_table(table))

    end = EmptyOperator(task_id="end")

    start >> extract >> quality
    quality >> load_group("orders") >> end
    quality >> load_group("refunds") >> end
