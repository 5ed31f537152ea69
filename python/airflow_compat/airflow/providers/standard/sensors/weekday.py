"""Standard provider: DayOfWeekSensor."""
from airflow._updraft.enums import WeekDay  # noqa: F401
from airflow._updraft.sensors import DayOfWeekSensor  # noqa: F401
