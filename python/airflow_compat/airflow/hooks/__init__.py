"""``airflow.hooks`` package."""
