"""``airflow.sensors.external_task``: ExternalTaskSensor and ExternalTaskMarker."""
from airflow._updraft.sensors import ExternalTaskMarker, ExternalTaskSensor  # noqa: F401
