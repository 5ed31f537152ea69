"""``airflow.utils.types``: DagRunType and the NOTSET sentinel."""
from airflow._updraft.enums import DagRunType  # noqa: F401
from airflow._updraft.compat import NOTSET, ArgNotSet  # noqa: F401
