"""``airflow.models.xcom_arg``: XComArg references between tasks."""
from airflow._updraft.xcomarg import PlainXComArg, XComArg  # noqa: F401
