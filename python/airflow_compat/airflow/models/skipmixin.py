"""``airflow.models.skipmixin``: SkipMixin marker class."""
from airflow._updraft.extras import SkipMixin  # noqa: F401
