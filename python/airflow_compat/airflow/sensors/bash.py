"""``airflow.sensors.bash``: BashSensor."""
from airflow._updraft.sensors import BashSensor  # noqa: F401
