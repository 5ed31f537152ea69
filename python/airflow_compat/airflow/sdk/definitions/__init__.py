"""``airflow.sdk.definitions`` package (3.x internals some DAG files import)."""
