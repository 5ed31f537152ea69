"""``airflow.operators.weekday``: BranchDayOfWeekOperator."""
from airflow._updraft.ops_core import BranchDayOfWeekOperator  # noqa: F401
from airflow._updraft.enums import WeekDay  # noqa: F401
