"""``airflow.sdk.definitions.baseoperator`` (3.0 path): BaseOperator and chain helpers."""
from airflow._updraft.baseoperator import BaseOperator  # noqa: F401
from airflow._updraft.dependencies import chain, chain_linear, cross_downstream  # noqa: F401
