"""``airflow.sdk.definitions.xcom_arg``: XComArg."""
from airflow._updraft.xcomarg import PlainXComArg, XComArg  # noqa: F401
