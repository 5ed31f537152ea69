"""``airflow.sensors.external_task_sensor``: deprecated 2.x alias module of ``airflow.sensors.external_task``."""
from airflow._updraft.sensors import ExternalTaskMarker, ExternalTaskSensor  # noqa: F401
