"""``airflow.utils.trigger_rule``: the TriggerRule enum."""
from airflow._updraft.enums import TriggerRule  # noqa: F401
