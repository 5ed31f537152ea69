"""Standard provider: PythonSensor."""
from airflow._updraft.sensors import PythonSensor  # noqa: F401
