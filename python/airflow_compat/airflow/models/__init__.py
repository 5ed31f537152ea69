"""Airflow 2.x ``airflow.models``: DAG, BaseOperator, Variable, Connection, Param, XComArg and placeholders for database models."""
from airflow._updraft.dag import DAG  # noqa: F401
from airflow._updraft.baseoperator import BaseOperator  # noqa: F401
from airflow._updraft.runtime import Connection, Variable  # noqa: F401
from airflow._updraft.params import Param, ParamsDict  # noqa: F401
from airflow._updraft.xcomarg import XComArg  # noqa: F401
from airflow._updraft.extras import BaseOperatorLink, DagBag, DagModel, DagRun, Pool, TaskInstance, XCom  # noqa: F401
from airflow._updraft.mapping import OperatorPartial  # noqa: F401
MappedOperator = BaseOperator
