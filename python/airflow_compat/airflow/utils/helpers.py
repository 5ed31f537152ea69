"""``airflow.utils.helpers``: deprecated re-exports of chain and cross_downstream."""
from airflow._updraft.dependencies import chain, cross_downstream  # noqa: F401
