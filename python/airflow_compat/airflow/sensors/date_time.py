"""``airflow.sensors.date_time``: DateTimeSensor (+Async)."""
from airflow._updraft.sensors import DateTimeSensor, DateTimeSensorAsync  # noqa: F401
