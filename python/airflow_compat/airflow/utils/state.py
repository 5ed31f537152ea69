"""``airflow.utils.state``: task-instance and DAG-run states."""
from airflow._updraft.enums import DagRunState, State, TaskInstanceState  # noqa: F401
