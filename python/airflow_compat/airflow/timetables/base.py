"""``airflow.timetables.base``: the Timetable base class users subclass."""
from airflow._updraft.timetables import DagRunInfo, DataInterval, TimeRestriction, Timetable  # noqa: F401
