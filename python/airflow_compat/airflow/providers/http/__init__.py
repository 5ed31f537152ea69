"""``airflow.providers.http`` package (only the notifier is provided)."""
