"""Standard provider: EmptyOperator."""
from airflow._updraft.ops_core import EmptyOperator  # noqa: F401
