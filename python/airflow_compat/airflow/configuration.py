"""``airflow.configuration``: ``conf`` with Airflow's defaults (env ``AIRFLOW__SECTION__KEY`` overrides)."""
from airflow._updraft.runtime import AirflowConfigParser, conf  # noqa: F401
