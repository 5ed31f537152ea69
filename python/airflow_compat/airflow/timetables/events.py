"""``airflow.timetables.events``: EventsTimetable."""
from airflow._updraft.timetables import EventsTimetable  # noqa: F401
