"""``airflow.utils.decorators``: the 2.x ``apply_defaults`` no-op."""
from airflow._updraft.extras import apply_defaults  # noqa: F401
