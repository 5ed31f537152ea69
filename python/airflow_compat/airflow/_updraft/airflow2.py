"""Airflow 2.10's versions of the classes whose class attributes (or
arguments) changed in Airflow 3.1 / the standard provider 1.21.0.

The 2.x modules (``airflow.operators.*``, ``airflow.sensors.*``,
``airflow.decorators``) export these; the 3.x modules
(``airflow.providers.standard.*``, ``airflow.sdk``) export the classes of the
other ``_updraft`` modules. Each variant keeps upstream's class name (Airflow's
``task_type``) and subclasses the 3.x class, so ``isinstance`` checks against
either path hold and the worker sees the same ``operator_kind``.

Classes that did not change are shared by both paths (one identity). The Kafka
provider's classes, whose import path is the same in both versions, pick
their variant by the file's dialect instead (see ``kafka.py``).
"""
import datetime as _dt

from . import ops_python as _py
from . import sensors as _s
from .baseoperator import checking_values
from .builtin import builtin

_OPS = "airflow.operators."
_SENS = "airflow.sensors."
_STD = "airflow.providers.standard."


@builtin("external_task_marker", _SENS + "external_task", _STD + "sensors.external_task")
class ExternalTaskMarker(_s.ExternalTaskMarker):
    """2.10: the other run is named by ``execution_date`` (templated), not ``logical_date``."""

    template_fields = ("external_dag_id", "external_task_id", "execution_date")
    _updraft_rejected_args = ("logical_date",)

    def __init__(self, *, external_dag_id, external_task_id, execution_date="{{ logical_date.isoformat() }}",
                 recursion_depth=10, **kwargs):
        if isinstance(execution_date, _dt.datetime):
            execution_date = execution_date.isoformat()
        elif not isinstance(execution_date, str) and checking_values():
            raise TypeError(
                f"Expected str or datetime.datetime type for execution_date. Got {type(execution_date)}"
            )
        super().__init__(external_dag_id=external_dag_id, external_task_id=external_task_id,
                         logical_date=execution_date, recursion_depth=recursion_depth, **kwargs)
        self.execution_date = execution_date


@builtin("time_delta_sensor", _SENS + "time_delta", _STD + "sensors.time_delta")
class TimeDeltaSensor(_s.TimeDeltaSensor):
    """2.10: ``delta`` is not templated; only the Async variant takes ``end_from_trigger``."""

    template_fields = ()
    _updraft_rejected_args = ("end_from_trigger",)


@builtin("time_delta_sensor", _SENS + "time_delta", _STD + "sensors.time_delta")
class TimeDeltaSensorAsync(TimeDeltaSensor, _s.TimeDeltaSensorAsync):
    _updraft_rejected_args = ()


@builtin("file_sensor", _SENS + "filesystem", _STD + "sensors.filesystem")
class FileSensor(_s.FileSensor):
    """2.10: ``fs_conn_id`` is not templated."""

    template_fields = ("filepath",)


@builtin("python_virtualenv", _OPS + "python", _STD + "operators.python")
class PythonVirtualenvOperator(_py.PythonVirtualenvOperator):
    """2.10: no ``index_urls_from_connection_ids``."""

    template_fields = ("templates_dict", "op_args", "op_kwargs", "requirements", "index_urls", "venv_cache_path")
    _updraft_rejected_args = ("index_urls_from_connection_ids",)


@builtin("branch_python_virtualenv", _OPS + "python", _STD + "operators.python")
class BranchPythonVirtualenvOperator(PythonVirtualenvOperator, _py.BranchPythonVirtualenvOperator):
    pass
