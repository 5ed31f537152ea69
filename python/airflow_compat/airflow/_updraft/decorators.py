"""TaskFlow: ``@task`` (and ``.bash``, ``.branch``, ``.short_circuit``,
``.sensor``, ``.virtualenv``, ``.external_python``, ...), ``@dag``,
``@task_group``, ``@setup`` and ``@teardown``.

Calling a decorated task function creates the operator in the current DAG and
returns an ``XComArg``; XComArgs passed as arguments become upstream edges.
"""
import functools
import inspect
import re

from . import airflow2
from . import context as ctx
from .builtin import builtin
from .dag import DAG
from .enums import TriggerRule
from .mapping import build_mapped
from .ops_core import BashOperator
from .ops_python import (
    BranchExternalPythonOperator,
    BranchPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonOperator,
    PythonVirtualenvOperator,
    ShortCircuitOperator,
)
from .sensors import PythonSensor
from .taskgroup import MappedTaskGroup, TaskGroup
from .xcomarg import XComArg

KNOWN_CONTEXT_KEYS = frozenset({
    "conf", "conn", "dag", "dag_run", "data_interval_end", "data_interval_start", "ds", "ds_nodash",
    "execution_date", "expanded_ti_count", "exception", "inlets", "inlet_events", "logical_date", "macros",
    "map_index_template", "next_ds", "next_ds_nodash", "next_execution_date", "outlets", "outlet_events",
    "params", "prev_data_interval_start_success", "prev_data_interval_end_success", "prev_ds",
    "prev_ds_nodash", "prev_execution_date", "prev_execution_date_success", "prev_start_date_success",
    "prev_end_date_success", "reason", "run_id", "start_date", "task", "task_instance", "task_instance_key_str",
    "task_reschedule_count", "test_mode", "templates_dict", "ti", "tomorrow_ds", "tomorrow_ds_nodash",
    "triggering_dataset_events", "triggering_asset_events", "ts", "ts_nodash", "ts_nodash_with_tz",
    "try_number", "var", "yesterday_ds", "yesterday_ds_nodash",
})
_DICT_ANNOTATION = re.compile(r"^(typing\.)?(dict|Dict)(\[.*\])?$")
_V2 = "airflow.decorators."
_V3 = "airflow.providers.standard.decorators."


def _decorated(base, kind, name, v2mod, decorator):
    cls = type(name, (base,), {"custom_operator_name": "@" + decorator, "_updraft_decorator": decorator})
    cls.__qualname__ = name
    return builtin(kind, _V2 + v2mod, _V3 + v2mod)(cls)


_PythonDecoratedOperator = _decorated(PythonOperator, "python", "_PythonDecoratedOperator", "python", "task")
_BranchPythonDecoratedOperator = _decorated(BranchPythonOperator, "branch_python",
                                            "_BranchPythonDecoratedOperator", "branch_python", "task.branch")
_ShortCircuitDecoratedOperator = _decorated(ShortCircuitOperator, "short_circuit",
                                            "_ShortCircuitDecoratedOperator", "short_circuit", "task.short_circuit")
_PythonVirtualenvDecoratedOperator = _decorated(PythonVirtualenvOperator, "python_virtualenv",
                                                "_PythonVirtualenvDecoratedOperator", "python_virtualenv",
                                                "task.virtualenv")
_PythonExternalDecoratedOperator = _decorated(ExternalPythonOperator, "external_python",
                                              "_PythonExternalDecoratedOperator", "external_python",
                                              "task.external_python")
_BranchPythonVirtualenvDecoratedOperator = _decorated(
    BranchPythonVirtualenvOperator, "branch_python_virtualenv", "_BranchPythonVirtualenvDecoratedOperator",
    "branch_virtualenv", "task.branch_virtualenv")
_BranchExternalPythonDecoratedOperator = _decorated(
    BranchExternalPythonOperator, "branch_external_python", "_BranchExternalPythonDecoratedOperator",
    "branch_external_python", "task.branch_external_python")
# Airflow 2.10's (airflow.decorators): built on 2.10's PythonVirtualenvOperator.
_PythonVirtualenvDecoratedOperator2 = _decorated(airflow2.PythonVirtualenvOperator, "python_virtualenv",
                                                 "_PythonVirtualenvDecoratedOperator", "python_virtualenv",
                                                 "task.virtualenv")
_BranchPythonVirtualenvDecoratedOperator2 = _decorated(
    airflow2.BranchPythonVirtualenvOperator, "branch_python_virtualenv", "_BranchPythonVirtualenvDecoratedOperator",
    "branch_virtualenv", "task.branch_virtualenv")


@builtin("bash", _V2 + "bash", _V3 + "bash")
class _BashDecoratedOperator(BashOperator):
    """``@task.bash``: the function returns the command, which is then run like BashOperator."""

    template_fields = ("op_args", "op_kwargs", *BashOperator.template_fields)
    template_fields_renderers = {**BashOperator.template_fields_renderers, "op_args": "py", "op_kwargs": "py"}
    custom_operator_name = "@task.bash"
    _updraft_decorator = "task.bash"
    _updraft_python = True

    def __init__(self, *, python_callable, op_args=None, op_kwargs=None, **kwargs):
        kwargs.setdefault("bash_command", None)
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = None


@builtin("python_sensor", _V2 + "sensor", _V3 + "sensor")
class DecoratedSensorOperator(PythonSensor):
    """``@task.sensor``: the function is the poke; it returns a bool or a PokeReturnValue."""

    template_fields = ("op_args", "op_kwargs")
    template_fields_renderers = {"op_args": "py", "op_kwargs": "py"}
    custom_operator_name = "@task.sensor"
    _updraft_decorator = "task.sensor"


def get_unique_task_id(task_id, dag=None, task_group=None):
    dag = dag or ctx.current_dag()
    if dag is None:
        return task_id
    group = task_group or ctx.current_task_group(dag)
    full = group.child_id(task_id) if group is not None else task_id
    if full not in dag.task_dict:
        return task_id
    core = re.split(r"__\d+$", task_id)[0]
    prefix = re.escape(re.split(r"__\d+$", full)[0])
    pattern = re.compile(rf"^{prefix}__(\d+)$")
    suffixes = [0] + [int(m.group(1)) for m in map(pattern.match, dag.task_dict) if m]
    return f"{core}__{max(suffixes) + 1}"


def _infer_multiple_outputs(fn):
    ann = getattr(fn, "__annotations__", {}).get("return", inspect.Signature.empty)
    if ann is inspect.Signature.empty or ann is None:
        return False
    if isinstance(ann, str):
        return bool(_DICT_ANNOTATION.match(ann.strip()))
    origin = getattr(ann, "__origin__", ann)
    return origin is dict


class _TaskDecorator:
    """A decorated task function: call it to add a task, or ``.override()``,
    ``.partial()``, ``.expand()`` it."""

    def __init__(self, function, operator_class, multiple_outputs=None, kwargs=None, is_setup=False,
                 is_teardown=False, on_failure_fail_dagrun=False):
        if not callable(function):
            raise TypeError("@task expects a callable")
        try:
            sig = inspect.signature(function)
        except (TypeError, ValueError):
            sig = None
        if sig is not None and "self" in sig.parameters:
            raise TypeError(f"@{operator_class.__name__} does not support methods")
        self.function = function
        self.operator_class = operator_class
        self.kwargs = dict(kwargs or {})
        self.kwargs.setdefault("task_id", function.__name__)
        if multiple_outputs is None:
            multiple_outputs = self.kwargs.pop("multiple_outputs", None)
        self.multiple_outputs = _infer_multiple_outputs(function) if multiple_outputs is None else multiple_outputs
        self.is_setup = is_setup
        self.is_teardown = is_teardown
        self.on_failure_fail_dagrun = on_failure_fail_dagrun
        self._signature = sig
        functools.update_wrapper(self, function)

    def _check_args(self, args, kwargs, partial):
        sig = self._signature
        if sig is None:
            return
        params = [p.replace(default=None) if p.name in KNOWN_CONTEXT_KEYS and p.default is p.empty else p
                  for p in sig.parameters.values()]
        try:
            sig = sig.replace(parameters=params)
        except ValueError:
            partial = True
        (sig.bind_partial if partial else sig.bind)(*args, **kwargs)

    def _op_kwargs(self, extra=None):
        kw = dict(self.kwargs)
        if extra:
            kw.update(extra)
        kw["task_id"] = get_unique_task_id(kw["task_id"], kw.get("dag"), kw.get("task_group"))
        kw["multiple_outputs"] = self.multiple_outputs
        return kw

    def _finish(self, op):
        if self.is_setup:
            op.as_setup()
        if self.is_teardown:
            op.is_teardown = True
            op.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
            op.on_failure_fail_dagrun = self.on_failure_fail_dagrun
        return XComArg(op)

    def __call__(self, *args, **kwargs):
        self._check_args(args, kwargs, partial=False)
        op = self.operator_class(python_callable=self.function, op_args=list(args), op_kwargs=kwargs,
                                 **self._op_kwargs())
        return self._finish(op)

    def override(self, **kwargs):
        mo = kwargs.pop("multiple_outputs", self.multiple_outputs)
        return _TaskDecorator(self.function, self.operator_class, mo, {**self.kwargs, **kwargs},
                              self.is_setup, self.is_teardown, self.on_failure_fail_dagrun)

    def partial(self, **kwargs):
        return _TaskPartial(self, kwargs)

    def expand(self, **kwargs):
        return _TaskPartial(self, {}).expand(**kwargs)

    def expand_kwargs(self, kwargs, *, strict=True):
        return _TaskPartial(self, {}).expand_kwargs(kwargs, strict=strict)


class _TaskPartial:
    def __init__(self, decorator, fn_kwargs):
        decorator._check_args((), fn_kwargs, partial=True)
        self.decorator = decorator
        self.fn_kwargs = fn_kwargs

    def expand(self, **kwargs):
        d = self.decorator
        d._check_args((), {**self.fn_kwargs, **kwargs}, partial=True)
        partial_kwargs = d._op_kwargs({"python_callable": d.function, "op_kwargs": dict(self.fn_kwargs)})
        op = build_mapped(d.operator_class, partial_kwargs, kwargs, None, taskflow=True)
        return d._finish(op)

    def expand_kwargs(self, kwargs, *, strict=True):
        d = self.decorator
        partial_kwargs = d._op_kwargs({"python_callable": d.function, "op_kwargs": dict(self.fn_kwargs)})
        op = build_mapped(d.operator_class, partial_kwargs, None, kwargs, taskflow=True)
        return d._finish(op)


def _make(operator_class):
    def factory(python_callable=None, multiple_outputs=None, **kwargs):
        if python_callable is not None and not callable(python_callable):
            raise TypeError("The first argument of a task decorator must be the function")

        def wrap(fn):
            return _TaskDecorator(fn, operator_class, multiple_outputs, kwargs)

        return wrap(python_callable) if python_callable is not None else wrap

    return factory


def _condition(kind):
    def outer(condition, skip_message=None):
        def deco(task_decorator):
            prev = task_decorator.kwargs.get("pre_execute")

            def pre_execute(context):
                from .exceptions import AirflowSkipException

                if prev is not None:
                    prev(context)
                ok = bool(condition(context))
                if (kind == "run_if" and not ok) or (kind == "skip_if" and ok):
                    raise AirflowSkipException(skip_message or f"Task skipped by @task.{kind}")

            pre_execute._updraft_condition = (kind, condition)
            return task_decorator.override(pre_execute=pre_execute)

        return deco

    return outer


class TaskDecoratorCollection:
    """``task`` itself: ``@task`` / ``@task(...)`` and ``@task.<variant>``."""

    python = staticmethod(_make(_PythonDecoratedOperator))
    branch = staticmethod(_make(_BranchPythonDecoratedOperator))
    short_circuit = staticmethod(_make(_ShortCircuitDecoratedOperator))
    virtualenv = staticmethod(_make(_PythonVirtualenvDecoratedOperator))
    external_python = staticmethod(_make(_PythonExternalDecoratedOperator))
    branch_virtualenv = staticmethod(_make(_BranchPythonVirtualenvDecoratedOperator))
    branch_external_python = staticmethod(_make(_BranchExternalPythonDecoratedOperator))
    bash = staticmethod(_make(_BashDecoratedOperator))
    sensor = staticmethod(_make(DecoratedSensorOperator))
    run_if = staticmethod(_condition("run_if"))
    skip_if = staticmethod(_condition("skip_if"))

    def __call__(self, python_callable=None, multiple_outputs=None, **kwargs):
        return self.python(python_callable, multiple_outputs, **kwargs)

    def __getattr__(self, name):
        from .finder import unsupported_message

        raise AttributeError(
            f"@task.{name} is not available in Updraft: it comes from a provider package that is not "
            f"supported. {unsupported_message(None)}"
        )


class _TaskDecoratorCollection2(TaskDecoratorCollection):
    """``airflow.decorators.task``: Airflow 2.10's decorated operators where they differ."""

    virtualenv = staticmethod(_make(_PythonVirtualenvDecoratedOperator2))
    branch_virtualenv = staticmethod(_make(_BranchPythonVirtualenvDecoratedOperator2))


task = TaskDecoratorCollection()  # airflow.sdk (3.x)
task_v2 = _TaskDecoratorCollection2()  # airflow.decorators (2.x)


def setup(func):
    """Mark a TaskFlow function (or ``@task`` object) as a setup task."""
    dec = func if isinstance(func, _TaskDecorator) else task(func)
    new = dec.override()
    new.is_setup = True
    return new


def teardown(_func=None, *, on_failure_fail_dagrun=False):
    """Mark a TaskFlow function as a teardown task (runs even when work tasks fail)."""

    def wrap(func):
        dec = func if isinstance(func, _TaskDecorator) else task(func)
        new = dec.override()
        new.is_teardown = True
        new.on_failure_fail_dagrun = on_failure_fail_dagrun
        return new

    return wrap(_func) if _func is not None else wrap


def dag(dag_id="", *args, **dag_kwargs):
    """``@dag``: the function builds the DAG; its arguments become DAG params."""
    if callable(dag_id):
        return dag()(dag_id)

    def wrapper(f):
        sig = inspect.signature(f)

        @functools.wraps(f)
        def factory(*f_args, **f_kwargs):
            bound = sig.bind_partial(*f_args, **f_kwargs)
            bound.apply_defaults()
            with DAG(dag_id or f.__name__, *args, **dag_kwargs) as dag_obj:
                if f.__doc__ and not dag_obj.doc_md:
                    dag_obj.doc_md = f.__doc__
                call_kwargs = {}
                for name, p in sig.parameters.items():
                    if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                        continue
                    value = bound.arguments[name] if name in bound.arguments else _notset()
                    call_kwargs[name] = dag_obj.param(name, value)
                f(**call_kwargs)
            return dag_obj

        factory.dag_id = dag_id or f.__name__
        return factory

    return wrapper


def _notset():
    from .compat import NOTSET

    return NOTSET


class _TaskGroupFactory:
    def __init__(self, function, kwargs):
        self.function = function
        self.tg_kwargs = kwargs
        functools.update_wrapper(self, function)

    def _create(self, cls, args, kwargs, extra=None):
        tg_kwargs = dict(self.tg_kwargs)
        tg_kwargs.setdefault("group_id", self.function.__name__)
        if extra:
            tg_kwargs.update(extra)
        with cls(add_suffix_on_collision=True, **tg_kwargs) as group:
            if self.function.__doc__ and not group.tooltip:
                group.tooltip = self.function.__doc__
            retval = self.function(*args, **kwargs)
        if retval is not None:
            return retval
        return group

    def __call__(self, *args, **kwargs):
        return self._create(TaskGroup, args, kwargs)

    def override(self, **kwargs):
        return _TaskGroupFactory(self.function, {**self.tg_kwargs, **kwargs})

    def partial(self, **kwargs):
        return _TaskGroupPartial(self, kwargs)

    def expand(self, **kwargs):
        return _TaskGroupPartial(self, {}).expand(**kwargs)

    def expand_kwargs(self, kwargs):
        return _TaskGroupPartial(self, {}).expand_kwargs(kwargs)


class _TaskGroupPartial:
    def __init__(self, factory, kwargs):
        self.factory = factory
        self.kwargs = kwargs

    def expand(self, **expand):
        if not expand:
            raise TypeError("no arguments to expand against")
        return self.factory._create(MappedTaskGroup, (), {**self.kwargs, **expand}, {"expand_input": expand})

    def expand_kwargs(self, value):
        sig = inspect.signature(self.factory.function)
        filler = {n: value for n in sig.parameters if n not in self.kwargs}
        return self.factory._create(MappedTaskGroup, (), {**self.kwargs, **filler}, {"expand_input": value})


def task_group(python_callable=None, **tg_kwargs):
    """``@task_group``: calling the function creates a TaskGroup around the tasks it makes."""
    if callable(python_callable) and not tg_kwargs:
        return _TaskGroupFactory(python_callable, {})
    if python_callable is not None and not callable(python_callable):
        tg_kwargs["group_id"] = python_callable

    def wrap(fn):
        return _TaskGroupFactory(fn, tg_kwargs)

    return wrap
