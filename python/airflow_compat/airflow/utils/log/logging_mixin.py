"""``airflow.utils.log.logging_mixin``: LoggingMixin."""
from airflow._updraft.extras import LoggingMixin  # noqa: F401
