"""``airflow.utils.log`` package."""
