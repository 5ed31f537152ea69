"""``airflow.sdk.definitions.decorators``: the TaskFlow decorators."""
from airflow._updraft.decorators import dag, setup, task, task_group, teardown  # noqa: F401
