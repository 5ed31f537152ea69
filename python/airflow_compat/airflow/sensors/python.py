"""``airflow.sensors.python``: PythonSensor."""
from airflow._updraft.sensors import PythonSensor  # noqa: F401
from airflow._updraft.sensors import PokeReturnValue  # noqa: F401
