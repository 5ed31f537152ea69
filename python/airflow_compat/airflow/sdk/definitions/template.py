"""``airflow.sdk.definitions.template``: literal."""
from airflow._updraft.encode import literal  # noqa: F401
from airflow._updraft.encode import Literal  # noqa: F401
