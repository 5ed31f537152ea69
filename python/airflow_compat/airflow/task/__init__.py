"""``airflow.task`` package (3.x)."""
