"""``airflow.models.dagrun``: DagRun placeholder for type hints."""
from airflow._updraft.extras import DagRun  # noqa: F401
