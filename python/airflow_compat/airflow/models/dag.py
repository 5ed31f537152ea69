"""``airflow.models.dag``: the DAG class and its context stack."""
from airflow._updraft.dag import DAG  # noqa: F401
from airflow._updraft.context import DagContext  # noqa: F401
from airflow._updraft.compat import NOTSET, ArgNotSet  # noqa: F401
