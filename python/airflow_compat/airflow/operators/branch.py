"""``airflow.operators.branch``: BaseBranchOperator for custom branch operators."""
from airflow._updraft.ops_core import BaseBranchOperator  # noqa: F401
BranchMixIn = BaseBranchOperator
