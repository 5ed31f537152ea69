"""``airflow.decorators``: the TaskFlow decorators dag, task, task_group, setup and teardown."""
from airflow._updraft.decorators import dag, setup, task_group, teardown  # noqa: F401
from airflow._updraft.decorators import task_v2 as task  # noqa: F401
from airflow._updraft.decorators import TaskDecoratorCollection  # noqa: F401
