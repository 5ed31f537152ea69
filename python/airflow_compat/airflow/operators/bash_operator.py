"""``airflow.operators.bash_operator``: deprecated 2.x alias module of ``airflow.operators.bash``."""
from airflow._updraft.ops_core import BashOperator  # noqa: F401
