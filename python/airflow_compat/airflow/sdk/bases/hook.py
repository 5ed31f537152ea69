"""``airflow.sdk.bases.hook``: BaseHook."""
from airflow._updraft.runtime import BaseHook  # noqa: F401
