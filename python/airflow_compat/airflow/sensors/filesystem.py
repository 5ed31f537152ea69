"""``airflow.sensors.filesystem``: (2.10's) FileSensor."""
from airflow._updraft.airflow2 import FileSensor  # noqa: F401
