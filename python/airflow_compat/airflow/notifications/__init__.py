"""``airflow.notifications`` package."""
