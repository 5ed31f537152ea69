"""``airflow.timetables.trigger``: cron/delta trigger timetables."""
from airflow._updraft.timetables import CronTriggerTimetable, DeltaTriggerTimetable, MultipleCronTriggerTimetable  # noqa: F401
