"""``airflow.sdk.bases.notifier``: BaseNotifier."""
from airflow._updraft.runtime import BaseNotifier  # noqa: F401
