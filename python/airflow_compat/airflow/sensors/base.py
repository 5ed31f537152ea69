"""``airflow.sensors.base``: BaseSensorOperator and PokeReturnValue."""
from airflow._updraft.sensors import BaseSensorOperator, PokeReturnValue  # noqa: F401
