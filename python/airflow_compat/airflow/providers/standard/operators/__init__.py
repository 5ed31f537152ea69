"""``airflow.providers.standard.operators`` package."""
