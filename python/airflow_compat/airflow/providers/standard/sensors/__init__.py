"""``airflow.providers.standard.sensors`` package."""
