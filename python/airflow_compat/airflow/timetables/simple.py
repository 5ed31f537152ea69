"""``airflow.timetables.simple``: null, once, continuous and asset-triggered timetables."""
from airflow._updraft.timetables import AssetTriggeredTimetable, ContinuousTimetable, DatasetTriggeredTimetable, NullTimetable, OnceTimetable  # noqa: F401
