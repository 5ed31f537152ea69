"""``airflow.providers.standard.utils`` package."""
