"""``airflow.sdk.definitions.mappedoperator``: mapped tasks are operators with a ``mapped`` record."""
from airflow._updraft.baseoperator import BaseOperator  # noqa: F401
MappedOperator = BaseOperator
