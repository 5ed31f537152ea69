"""Standard provider: the WeekDay enum."""
from airflow._updraft.enums import WeekDay  # noqa: F401
