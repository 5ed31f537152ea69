"""``airflow.operators.latest_only``: LatestOnlyOperator."""
from airflow._updraft.ops_core import LatestOnlyOperator  # noqa: F401
