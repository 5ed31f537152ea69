"""``airflow.sdk.definitions.param``: Param and ParamsDict."""
from airflow._updraft.params import DagParam, Param, ParamsDict  # noqa: F401
