"""Standard provider: FileSensor."""
from airflow._updraft.sensors import FileSensor  # noqa: F401
