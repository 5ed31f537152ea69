"""``airflow.models.mappedoperator``: mapped tasks are operators with a ``mapped`` record."""
from airflow._updraft.baseoperator import BaseOperator  # noqa: F401
from airflow._updraft.mapping import OperatorPartial  # noqa: F401
MappedOperator = BaseOperator
