"""``airflow.sensors.time_sensor``: TimeSensor (+Async)."""
from airflow._updraft.sensors import TimeSensor, TimeSensorAsync  # noqa: F401
