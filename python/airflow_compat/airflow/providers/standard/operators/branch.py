"""Standard provider: BaseBranchOperator."""
from airflow._updraft.ops_core import BaseBranchOperator  # noqa: F401
BranchMixIn = BaseBranchOperator
