"""``airflow.operators.dummy_operator``: deprecated 2.x alias module of ``airflow.operators.dummy``."""
from airflow._updraft.ops_core import DummyOperator  # noqa: F401
