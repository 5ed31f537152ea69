"""Standard provider: PythonOperator and variants."""
from airflow._updraft.ops_python import BranchExternalPythonOperator, BranchPythonOperator, BranchPythonVirtualenvOperator, ExternalPythonOperator, PythonOperator, PythonVirtualenvOperator, ShortCircuitOperator, get_current_context  # noqa: F401
