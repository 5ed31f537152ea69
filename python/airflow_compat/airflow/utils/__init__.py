"""``airflow.utils`` package: helper modules DAG files commonly import."""
