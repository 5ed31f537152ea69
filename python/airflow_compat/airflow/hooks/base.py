"""``airflow.hooks.base``: BaseHook (connections from AIRFLOW_CONN_* at parse time)."""
from airflow._updraft.runtime import BaseHook  # noqa: F401
