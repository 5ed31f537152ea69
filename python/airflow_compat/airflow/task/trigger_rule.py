"""``airflow.task.trigger_rule``: the TriggerRule enum (3.x path)."""
from airflow._updraft.enums import TriggerRule  # noqa: F401
