"""Standard provider: BranchDayOfWeekOperator."""
from airflow._updraft.ops_core import BranchDayOfWeekOperator  # noqa: F401
