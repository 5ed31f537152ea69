"""``airflow.timetables.assets``: AssetOrTimeSchedule (3.x)."""
from airflow._updraft.timetables import AssetOrTimeSchedule  # noqa: F401
