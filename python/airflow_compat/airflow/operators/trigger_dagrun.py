"""``airflow.operators.trigger_dagrun``: TriggerDagRunOperator."""
from airflow._updraft.ops_core import TriggerDagRunOperator  # noqa: F401
