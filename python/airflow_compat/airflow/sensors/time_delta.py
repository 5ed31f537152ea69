"""``airflow.sensors.time_delta``: (2.10's) TimeDeltaSensor (+Async)."""
from airflow._updraft.airflow2 import TimeDeltaSensor, TimeDeltaSensorAsync  # noqa: F401
