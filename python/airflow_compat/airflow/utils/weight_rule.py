"""``airflow.utils.weight_rule``: the WeightRule enum."""
from airflow._updraft.enums import WeightRule  # noqa: F401
