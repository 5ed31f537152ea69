"""``airflow.models.param``: Param, ParamsDict and DagParam."""
from airflow._updraft.params import DagParam, Param, ParamsDict  # noqa: F401
