"""Invoice processing with the classic Python operators (Airflow 3 Task SDK).

Covers: PythonOperator with ``op_args`` / ``op_kwargs`` / ``templates_dict``
(templated with ``ds`` and ``params``), BranchPythonOperator,
ShortCircuitOperator in both modes (``ignore_downstream_trigger_rules``
True and False), PythonVirtualenvOperator and ``@task.virtualenv`` (they only
need to load here), and a join after a branch.
"""
from datetime import timedelta

import pendulum

from airflow.sdk import DAG, task
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import (
    BranchPythonOperator,
    PythonOperator,
    PythonVirtualenvOperator,
    ShortCircuitOperator,
)


def compute_invoice_total(currency, *line_items, discount=0.0, templates_dict=None, **context):
    """Pure: sum the line items and apply the discount."""
    run_date = (templates_dict or {}).get("run_date")
    total = round(sum(line_items) * (1 - discount), 2)
    return {"currency": currency, "total": total, "run_date": run_date}


def pick_route(**context):
    total = context["ti"].xcom_pull(task_ids="compute_invoice_total")["total"]
    return "route_to_manager" if total > 100 else "auto_approve"


def is_month_end(ds=None, **context):
    return bool(ds) and ds.endswith("-31")


def has_foreign_currency(**context):
    return False


def render_pdf(invoice_id):
    """Runs inside a fresh virtualenv: imports must be local."""
    import json

    return json.dumps({"invoice": invoice_id, "pages": 1})


with DAG(
    dag_id="example_python_operators_v3",
    schedule=timedelta(days=1),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    params={"customer": "acme"},
    tags=["example", "python", "v3"],
) as dag:
    compute = PythonOperator(
        task_id="compute_invoice_total",
        python_callable=compute_invoice_total,
        op_args=["EUR", 19.99, 5.0, 120.0],
        op_kwargs={"discount": 0.1},
        templates_dict={"run_date": "{{ ds }}", "customer": "{{ params.customer }}"},
    )

    route = BranchPythonOperator(task_id="route_invoice", python_callable=pick_route)
    manager = EmptyOperator(task_id="route_to_manager")
    auto = EmptyOperator(task_id="auto_approve")
    booked = EmptyOperator(task_id="book_invoice", trigger_rule="none_failed_min_one_success")

    month_end = ShortCircuitOperator(
        task_id="only_on_month_end",
        python_callable=is_month_end,
        ignore_downstream_trigger_rules=True,
    )
    close_books = EmptyOperator(task_id="close_books")
    send_statement = EmptyOperator(task_id="send_statement", trigger_rule="all_done")

    foreign = ShortCircuitOperator(
        task_id="only_foreign_currency",
        python_callable=has_foreign_currency,
        ignore_downstream_trigger_rules=False,
    )
    fx_convert = EmptyOperator(task_id="convert_currency")
    fx_report = EmptyOperator(task_id="fx_report", trigger_rule="all_done")

    pdf = PythonVirtualenvOperator(
        task_id="render_invoice_pdf",
        python_callable=render_pdf,
        op_kwargs={"invoice_id": "INV-{{ ds_nodash }}"},
        requirements=[],
        system_site_packages=False,
    )

    @task.virtualenv(task_id="archive_invoice", requirements=[], system_site_packages=False)
    def archive_invoice(document: str) -> int:
        return len(document)

    compute >> route >> [manager, auto] >> booked
    booked >> month_end >> close_books >> send_statement
    booked >> foreign >> fx_convert >> fx_report
    booked >> pdf
    archive_invoice(pdf.output)
