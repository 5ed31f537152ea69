"""``airflow.timetables.datasets``: DatasetOrTimeSchedule (2.x)."""
from airflow._updraft.timetables import DatasetOrTimeSchedule  # noqa: F401
