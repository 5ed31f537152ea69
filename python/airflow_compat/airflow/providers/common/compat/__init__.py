"""``airflow.providers.common.compat``: names that work on Airflow 2 and 3."""
