"""``airflow.operators.python``: PythonOperator and its branch, short-circuit, virtualenv and external-python variants."""
from airflow._updraft.airflow2 import BranchPythonVirtualenvOperator, PythonVirtualenvOperator  # noqa: F401
from airflow._updraft.ops_python import BranchExternalPythonOperator, BranchPythonOperator, ExternalPythonOperator, PythonOperator, ShortCircuitOperator, get_current_context  # noqa: F401
from airflow._updraft.extras import SkipMixin  # noqa: F401
