"""``airflow.notifications.basenotifier``: BaseNotifier (2.x path)."""
from airflow._updraft.runtime import BaseNotifier  # noqa: F401
