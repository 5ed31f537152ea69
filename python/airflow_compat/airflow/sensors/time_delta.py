"""``airflow.sensors.time_delta``: TimeDeltaSensor (+Async)."""
from airflow._updraft.sensors import TimeDeltaSensor, TimeDeltaSensorAsync  # noqa: F401
