"""Partner feed ingestion showing every way of wiring tasks (Airflow 2 imports).

Covers: ``chain`` (with element-wise paired lists), ``chain_linear``
(all-to-all between steps), ``cross_downstream``, ``Label`` edge labels (on a
branch and on a plain edge), ``set_upstream`` / ``set_downstream`` with lists,
``<<`` with a list on the right, and BranchPythonOperator choosing a path.
"""
from datetime import datetime

from airflow import DAG
from airflow.models.baseoperator import chain, chain_linear, cross_downstream
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator
from airflow.utils.edgemodifier import Label


def _validate_feed(**context):
    """Pick the path after validation (pure: always accepts)."""
    return "accept_feed"


with DAG(
    dag_id="example_dependencies_v2",
    schedule_interval="0 4 * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "dependencies", "v2"],
) as dag:
    start = EmptyOperator(task_id="start")
    fetch_partner_a = BashOperator(task_id="fetch_partner_a", bash_command="echo fetch a")
    fetch_partner_b = BashOperator(task_id="fetch_partner_b", bash_command="echo fetch b")
    clean_partner_a = BashOperator(task_id="clean_partner_a", bash_command="echo clean a")
    clean_partner_b = BashOperator(task_id="clean_partner_b", bash_command="echo clean b")
    merge = EmptyOperator(task_id="merge")

    # start -> fetch_a/fetch_b; fetch_a -> clean_a, fetch_b -> clean_b (paired); both -> merge
    chain(start, [fetch_partner_a, fetch_partner_b], [clean_partner_a, clean_partner_b], merge)

    check_schema = EmptyOperator(task_id="check_schema")
    check_counts = EmptyOperator(task_id="check_counts")
    publish_warehouse = EmptyOperator(task_id="publish_warehouse")
    publish_lake = EmptyOperator(task_id="publish_lake")

    # merge -> both checks; every check -> every publish
    chain_linear(merge, [check_schema, check_counts], [publish_warehouse, publish_lake])

    notify_ops = EmptyOperator(task_id="notify_ops")
    notify_business = EmptyOperator(task_id="notify_business")
    cross_downstream([publish_warehouse, publish_lake], [notify_ops, notify_business])

    validate = BranchPythonOperator(task_id="validate_feed", python_callable=_validate_feed)
    accept = EmptyOperator(task_id="accept_feed")
    quarantine = EmptyOperator(task_id="quarantine_feed")
    finish = EmptyOperator(task_id="finish", trigger_rule="none_failed_min_one_success")

    validate.set_upstream([notify_ops, notify_business])
    validate >> Label("schema ok") >> accept
    validate >> Label("schema broken") >> quarantine
    finish << [accept, quarantine]

    archive = BashOperator(task_id="archive_raw_files", bash_command="true")
    finish.set_downstream(archive)
    start >> Label("audit trail") >> archive
