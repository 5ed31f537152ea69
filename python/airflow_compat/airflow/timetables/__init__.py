"""``airflow.timetables`` package: timetables usable as ``schedule=``."""
