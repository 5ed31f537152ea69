"""``airflow.models.variable``: Variable (read from AIRFLOW_VAR_* at parse time)."""
from airflow._updraft.runtime import Variable  # noqa: F401
