"""Standard provider: TriggerDagRunOperator."""
from airflow._updraft.ops_core import TriggerDagRunOperator  # noqa: F401
