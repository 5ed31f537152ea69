"""``airflow.operators.empty``: EmptyOperator."""
from airflow._updraft.ops_core import EmptyOperator  # noqa: F401
