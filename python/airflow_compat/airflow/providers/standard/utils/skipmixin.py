"""Standard provider: SkipMixin."""
from airflow._updraft.extras import SkipMixin  # noqa: F401
