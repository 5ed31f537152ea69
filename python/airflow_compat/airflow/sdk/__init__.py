"""``airflow.sdk``: the Airflow 3 Task SDK authoring interface (DAG, task, Asset, ...)."""
from airflow._updraft.assets import Asset, AssetAlias, AssetAll, AssetAny, Metadata  # noqa: F401
from airflow._updraft.baseoperator import BaseOperator  # noqa: F401
from airflow._updraft.dependencies import chain, chain_linear, cross_downstream  # noqa: F401
from airflow._updraft.dag import DAG  # noqa: F401
from airflow._updraft.decorators import dag, task, task_group, setup, teardown  # noqa: F401
from airflow._updraft.edges import EdgeModifier, Label  # noqa: F401
from airflow._updraft.enums import DagRunState, TaskInstanceState, TriggerRule, WeightRule  # noqa: F401
from airflow._updraft.encode import literal  # noqa: F401
from airflow._updraft.params import Param, ParamsDict  # noqa: F401
from airflow._updraft.runtime import BaseHook, BaseNotifier, Connection, Variable  # noqa: F401
from airflow._updraft.runtime_context import Context, get_current_context  # noqa: F401
from airflow._updraft.context import get_parsing_context  # noqa: F401
from airflow._updraft.sensors import BaseSensorOperator, PokeReturnValue  # noqa: F401
from airflow._updraft.taskgroup import TaskGroup  # noqa: F401
from airflow._updraft.xcomarg import XComArg  # noqa: F401
from airflow._updraft.extras import AssetWatcher, BaseOperatorLink  # noqa: F401
__version__ = "1.1.8"
