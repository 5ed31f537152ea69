"""``airflow.operators.python_operator``: deprecated 2.x alias module of ``airflow.operators.python``."""
from airflow._updraft.airflow2 import PythonVirtualenvOperator  # noqa: F401
from airflow._updraft.ops_python import (  # noqa: F401
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
)
