"""``airflow.timetables.interval``: data-interval timetables."""
from airflow._updraft.timetables import CronDataIntervalTimetable, DeltaDataIntervalTimetable  # noqa: F401
