"""Standard provider: BranchDateTimeOperator."""
from airflow._updraft.ops_core import BranchDateTimeOperator  # noqa: F401
