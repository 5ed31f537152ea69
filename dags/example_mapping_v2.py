"""Per-file processing with dynamic task mapping (Airflow 2 imports).

Covers: ``@task.expand`` over a literal list and over an upstream XComArg,
``.partial().expand()`` on classic operators (BashOperator, PythonOperator),
``.expand_kwargs()`` with a literal list of dicts and with an XComArg,
``max_active_tis_per_dagrun`` on a mapped task, a reduce step consuming the
mapped results, and a mapped ``@task_group``.
"""
from datetime import datetime

from airflow import DAG
from airflow.decorators import task, task_group
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def _checksum(path, algorithm="md5"):
    return f"{algorithm}:{len(path)}"


with DAG(
    dag_id="example_mapping_v2",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mapping", "v2"],
) as dag:

    @task
    def list_files() -> list[str]:
        return ["orders.csv", "customers.csv", "refunds.csv"]

    @task
    def count_rows(path: str, header: bool = True) -> int:
        return len(path) - (1 if header else 0)

    @task
    def total_rows(counts) -> int:
        return sum(counts)

    @task
    def build_copy_jobs(files: list[str]) -> list[dict]:
        return [{"env": {"SRC": f}, "bash_command": "echo copying $SRC"} for f in files]

    files = list_files()
    counts = count_rows.partial(header=False).expand(path=files)
    total_rows(counts)

    count_rows.override(task_id="count_fixture_rows").expand(path=["a.csv", "bb.csv"])

    BashOperator.partial(task_id="compress", max_active_tis_per_dagrun=2).expand(
        bash_command=["echo gzip orders.csv", "echo gzip customers.csv"]
    )

    PythonOperator.partial(task_id="checksum", python_callable=_checksum).expand_kwargs(
        [{"op_args": ["orders.csv"]}, {"op_args": ["customers.csv"], "op_kwargs": {"algorithm": "sha1"}}]
    )

    BashOperator.partial(task_id="copy_file", retries=1).expand_kwargs(build_copy_jobs(files))

    @task_group
    def validate(path: str):
        @task
        def check_exists(p: str) -> str:
            return p

        @task
        def check_schema(p: str) -> bool:
            return p.endswith(".csv")

        check_schema(check_exists(path))

    validate.expand(path=files)
