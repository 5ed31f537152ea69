"""``airflow.models.connection``: Connection (read from AIRFLOW_CONN_* at parse time)."""
from airflow._updraft.runtime import Connection  # noqa: F401
