"""Python operators: PythonOperator, BranchPythonOperator, ShortCircuitOperator
and the virtualenv / external-python variants (run by Updraft's Python runner).
"""
import types

from .baseoperator import BaseOperator, checking_values
from .builtin import builtin
from .exceptions import AirflowException

_V2 = "airflow.operators.python"
_V3 = "airflow.providers.standard.operators.python"


@builtin("python", _V2, _V3)
class PythonOperator(BaseOperator):
    """Calls ``python_callable(*op_args, **op_kwargs)``; the result goes to XCom."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")
    template_fields_renderers = {"templates_dict": "json", "op_args": "py", "op_kwargs": "py"}
    ui_color = "#ffefeb"
    shallow_copy_attrs = ("python_callable", "op_kwargs")
    _updraft_python = True

    def __init__(self, *, python_callable, op_args=None, op_kwargs=None, templates_dict=None,
                 templates_exts=None, show_return_value_in_logs=True, **kwargs):
        super().__init__(**kwargs)
        if not callable(python_callable) and checking_values():
            raise AirflowException("`python_callable` param must be callable")
        self.python_callable = python_callable
        self.op_args = list(op_args) if isinstance(op_args, (list, tuple)) else (op_args or [])
        self.op_kwargs = dict(op_kwargs) if isinstance(op_kwargs, dict) else (op_kwargs or {})
        self.templates_dict = templates_dict
        self.templates_exts = list(templates_exts) if templates_exts else None
        self.show_return_value_in_logs = show_return_value_in_logs


@builtin("branch_python", _V2, _V3)
class BranchPythonOperator(PythonOperator):
    """The callable returns the task id(s) to follow; other direct downstream tasks are skipped."""

    inherits_from_skipmixin = True


@builtin("short_circuit", _V2, _V3)
class ShortCircuitOperator(PythonOperator):
    """A falsy result skips downstream tasks."""

    inherits_from_skipmixin = True

    def __init__(self, *, ignore_downstream_trigger_rules=True, **kwargs):
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules


def _reject_lambda(op, python_callable):
    if isinstance(python_callable, types.LambdaType) and python_callable.__name__ == "<lambda>":
        raise AirflowException(f"{type(op).__name__} only supports functions for python_callable arg")


# Upstream builds these from a set (their order is arbitrary there); 2.10 has no
# index_urls_from_connection_ids (see airflow2.PythonVirtualenvOperator).
_VENV_TEMPLATE_FIELDS = ("templates_dict", "op_args", "op_kwargs", "requirements", "index_urls",
                         "index_urls_from_connection_ids", "venv_cache_path")


@builtin("python_virtualenv", _V2, _V3)
class PythonVirtualenvOperator(PythonOperator):
    """Runs the callable in a virtualenv built from ``requirements`` (standard provider's class)."""

    template_fields = _VENV_TEMPLATE_FIELDS
    template_ext = (".txt",)

    def __init__(self, *, python_callable, requirements=None, python_version=None, serializer=None,
                 system_site_packages=True, pip_install_options=None, op_args=None, op_kwargs=None,
                 string_args=None, templates_dict=None, templates_exts=None, expect_airflow=True,
                 skip_on_exit_code=None, index_urls=None, index_urls_from_connection_ids=None,
                 venv_cache_path=None, use_dill=False, env_vars=None, inherit_env=True, **kwargs):
        _reject_lambda(self, python_callable)
        super().__init__(python_callable=python_callable, op_args=op_args, op_kwargs=op_kwargs,
                         templates_dict=templates_dict, templates_exts=templates_exts, **kwargs)
        if isinstance(requirements, str):
            requirements = [requirements]
        self.requirements = list(requirements) if requirements is not None else []
        self.python_version = python_version
        self.serializer = serializer or ("dill" if use_dill else "pickle")
        self.system_site_packages = system_site_packages
        self.pip_install_options = pip_install_options
        self.string_args = string_args or []
        self.expect_airflow = expect_airflow
        self.skip_on_exit_code = skip_on_exit_code
        self.index_urls = index_urls
        self.index_urls_from_connection_ids = index_urls_from_connection_ids
        self.venv_cache_path = venv_cache_path
        self.use_dill = use_dill
        self.env_vars = env_vars
        self.inherit_env = inherit_env


@builtin("branch_python_virtualenv", _V2, _V3)
class BranchPythonVirtualenvOperator(PythonVirtualenvOperator):
    inherits_from_skipmixin = True


@builtin("external_python", _V2, _V3)
class ExternalPythonOperator(PythonOperator):
    """Runs the callable with another, pre-existing Python interpreter (``python``)."""

    template_fields = ("python", "templates_dict", "op_args", "op_kwargs")

    def __init__(self, *, python, python_callable, serializer=None, op_args=None, op_kwargs=None,
                 string_args=None, templates_dict=None, templates_exts=None, expect_airflow=True,
                 expect_pendulum=False, skip_on_exit_code=None, use_dill=False, env_vars=None,
                 inherit_env=True, **kwargs):
        if not python and checking_values():
            raise ValueError("Python Path must be defined in ExternalPythonOperator")
        _reject_lambda(self, python_callable)
        super().__init__(python_callable=python_callable, op_args=op_args, op_kwargs=op_kwargs,
                         templates_dict=templates_dict, templates_exts=templates_exts, **kwargs)
        self.python = python
        self.serializer = serializer or ("dill" if use_dill else "pickle")
        self.string_args = string_args or []
        self.expect_airflow = expect_airflow
        self.expect_pendulum = expect_pendulum
        self.skip_on_exit_code = skip_on_exit_code
        self.use_dill = use_dill
        self.env_vars = env_vars
        self.inherit_env = inherit_env


@builtin("branch_external_python", _V2, _V3)
class BranchExternalPythonOperator(ExternalPythonOperator):
    inherits_from_skipmixin = True


def get_current_context():
    """Only meaningful inside a running task (Updraft's Python runner provides it)."""
    from . import runtime_context

    return runtime_context.get_current_context()
