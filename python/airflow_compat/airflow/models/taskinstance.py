"""``airflow.models.taskinstance``: TaskInstance placeholder for type hints."""
from airflow._updraft.extras import TaskInstance  # noqa: F401
