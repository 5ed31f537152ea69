"""``airflow.utils.context``: the Context type."""
from airflow._updraft.runtime_context import Context  # noqa: F401
