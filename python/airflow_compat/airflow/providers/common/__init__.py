"""``airflow.providers.common`` package."""
