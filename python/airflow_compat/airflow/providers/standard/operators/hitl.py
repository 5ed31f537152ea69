"""Standard provider: the human-in-the-loop operators (Airflow 3.1)."""
from airflow._updraft.hitl import ApprovalOperator, HITLBranchOperator, HITLEntryOperator, HITLOperator  # noqa: F401
