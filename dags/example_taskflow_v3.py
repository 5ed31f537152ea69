"""Order summary pipeline written with the TaskFlow API (Airflow 3 Task SDK).

Covers: ``@dag`` (dag_id from the function name), ``schedule=None``, ``Param``
with types / enums / bounds / defaults, ``default_args["params"]``, ``@task``
with ``multiple_outputs`` (explicit and inferred from a ``dict[...]``
annotation), XComArg wiring (``data["orders"]``, passing results as
arguments), ``@task.bash``, ``@task.branch``, ``@task.short_circuit``,
``@task.sensor`` returning a ``PokeReturnValue``, and ``.override()``.
"""
from __future__ import annotations

import pendulum

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Param, PokeReturnValue, dag, task


@dag(
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "taskflow", "v3"],
    default_args={"owner": "orders-team", "retries": 2, "params": {"source": "api"}},
    params={
        "batch_size": Param(10, type="integer", minimum=1, maximum=100, description="Orders per batch"),
        "environment": Param("dev", type="string", enum=["dev", "staging", "prod"]),
        "dry_run": Param(False, type="boolean"),
        "notify_email": Param(None, type=["null", "string"], format="idn-email"),
        "threshold": Param(5.5, type="number"),
    },
)
def example_taskflow_v3():
    @task.sensor(poke_interval=5, timeout=60, mode="reschedule")
    def wait_for_orders() -> PokeReturnValue:
        return PokeReturnValue(is_done=True, xcom_value="orders-ready")

    @task(multiple_outputs=True)
    def extract(marker: str):
        return {"orders": [3, 1, 4, 1, 5], "customers": 4, "marker": marker}

    @task
    def total(orders: list[int]) -> int:
        return sum(orders)

    @task
    def stats(orders: list[int]) -> dict[str, int]:
        return {"count": len(orders), "max": max(orders)}

    @task
    def summarize(total_value: int, customers: int, count: int) -> str:
        return f"{count} orders from {customers} customers, total {total_value}"

    @task.bash
    def announce(summary: str) -> str:
        return f"echo '{summary}'"

    @task.branch
    def choose_path(total_value: int) -> str:
        return "big_batch" if total_value > 10 else "small_batch"

    @task.short_circuit
    def has_customers(customers: int) -> bool:
        return customers > 0

    @task
    def send_report(summary: str) -> None:
        print(summary)

    big_batch = EmptyOperator(task_id="big_batch")
    small_batch = EmptyOperator(task_id="small_batch")
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")

    data = extract(wait_for_orders())
    total_value = total(data["orders"])
    order_stats = stats(data["orders"])
    summary = summarize(total_value, data["customers"], order_stats["count"])
    announce(summary)
    choose_path(total_value) >> [big_batch, small_batch] >> join
    has_customers(data["customers"]) >> send_report.override(task_id="send_report_email", retries=0)(summary)


example_taskflow_v3()
