"""``airflow.models.baseoperator``: BaseOperator and the chain helpers."""
from airflow._updraft.baseoperator import BaseOperator, BaseOperatorMeta  # noqa: F401
from airflow._updraft.dependencies import chain, chain_linear, cross_downstream  # noqa: F401
from airflow._updraft.extras import BaseOperatorLink  # noqa: F401
