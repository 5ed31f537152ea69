"""``airflow.utils.task_group``: TaskGroup."""
from airflow._updraft.taskgroup import MappedTaskGroup, TaskGroup  # noqa: F401
from airflow._updraft.context import TaskGroupContext  # noqa: F401
