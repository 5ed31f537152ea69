"""``airflow.operators.python``: PythonOperator and its branch, short-circuit, virtualenv and external-python variants."""
from airflow._updraft.ops_python import BranchExternalPythonOperator, BranchPythonOperator, BranchPythonVirtualenvOperator, ExternalPythonOperator, PythonOperator, PythonVirtualenvOperator, ShortCircuitOperator, get_current_context  # noqa: F401
from airflow._updraft.extras import SkipMixin  # noqa: F401
