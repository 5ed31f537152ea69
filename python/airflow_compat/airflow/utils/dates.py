"""``airflow.utils.dates``: days_ago and the cron presets."""
from airflow._updraft.extras import cron_presets, days_ago  # noqa: F401
