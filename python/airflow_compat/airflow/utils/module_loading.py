"""``airflow.utils.module_loading``: import_string."""
from airflow._updraft.extras import import_string  # noqa: F401
