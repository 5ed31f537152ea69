"""``airflow.sdk.definitions.dag``: DAG and @dag."""
from airflow._updraft.dag import DAG  # noqa: F401
from airflow._updraft.decorators import dag  # noqa: F401
