"""``airflow.sensors.external_task_sensor``: deprecated 2.x alias module of ``airflow.sensors.external_task``."""
from airflow._updraft.airflow2 import ExternalTaskMarker  # noqa: F401
from airflow._updraft.sensors import ExternalTaskSensor  # noqa: F401
