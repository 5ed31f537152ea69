"""Standard provider: LatestOnlyOperator."""
from airflow._updraft.ops_core import LatestOnlyOperator  # noqa: F401
