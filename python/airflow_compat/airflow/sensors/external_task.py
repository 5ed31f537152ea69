"""``airflow.sensors.external_task``: ExternalTaskSensor and (2.10's) ExternalTaskMarker."""
from airflow._updraft.airflow2 import ExternalTaskMarker  # noqa: F401
from airflow._updraft.sensors import ExternalTaskSensor  # noqa: F401
