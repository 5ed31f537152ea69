"""``airflow.providers.apache`` package (only kafka is provided)."""
