"""``airflow.sdk.definitions.taskgroup``: TaskGroup."""
from airflow._updraft.taskgroup import MappedTaskGroup, TaskGroup  # noqa: F401
