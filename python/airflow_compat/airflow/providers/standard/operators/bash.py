"""Standard provider: BashOperator."""
from airflow._updraft.ops_core import BashOperator  # noqa: F401
