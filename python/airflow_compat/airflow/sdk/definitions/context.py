"""``airflow.sdk.definitions.context``: Context and the context accessors."""
from airflow._updraft.runtime_context import Context, get_current_context  # noqa: F401
from airflow._updraft.context import get_parsing_context  # noqa: F401
