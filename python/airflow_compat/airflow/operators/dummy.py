"""``airflow.operators.dummy``: DummyOperator (alias of EmptyOperator)."""
from airflow._updraft.ops_core import DummyOperator, EmptyOperator  # noqa: F401
