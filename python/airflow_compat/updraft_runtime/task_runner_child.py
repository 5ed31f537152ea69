"""One task, in a forked child of the task runner: import the DAG file, find
the task, build the context, run it with Airflow's semantics, and write one
JSON result line to the result fd. Output (print, logging, warnings) goes to
fds 1 and 2, which the runner streams to the task log.

Result: ``{"state": "success"|"skipped"|"failed"|"failed_no_retry",
"message": str, "xcoms": [[key, value], ...], "returned": value|null,
"truthy": bool, "poke": {"done": bool, "xcom": value}|null}``. Values use the
tagged encoding of docs/serialized-dag.md. Skip sets of branches are not
computed here: the worker does that from the serialized DAG. A request of
mode ``kafka`` runs the task's Python functions for the worker's native Kafka
client, talking over the session pipes (``task_runner_kafka``).
"""
import inspect
import json
import logging
import os
import sys
import traceback

from airflow._updraft import context as dag_ctx
from airflow._updraft import runtime_context
from airflow._updraft.compat import NOTSET
from airflow._updraft.encode import encode
from airflow._updraft.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)
from airflow._updraft.sensors import PokeReturnValue
from updraft_runtime import task_runner_context as trc
from updraft_runtime import task_runner_kafka as kafka
from updraft_runtime import task_runner_venv as venv

# Operator kinds this runner executes, and what it does for each.
CALLABLE_KINDS = ("python", "branch_python", "short_circuit", "python_sensor")


class TaskError(Exception):
    """The request cannot be run (missing DAG or task, unsupported kind)."""


def load_task(req):
    """Imports the DAG file as the parse child does and returns (dag, task)."""
    from updraft_runtime import parse

    path = req["fileloc"]
    for folder in (req.get("dags_folder"), os.path.dirname(path)):
        if folder and folder not in sys.path:
            sys.path.insert(1, folder)
    dag_ctx.reset()
    # The file's dialect as its parse found it: classes that differ between
    # Airflow 2 and 3 under one import path (the Kafka sensors) resolve to the
    # same variant here as they did when the DAG was serialized.
    dag_ctx.STATE.dialect3 = (req.get("context") or {}).get("dialect") == "3"
    module, _name = parse._run_module(path, req.get("dags_folder"))
    dags = parse._collect(module, path)
    dag = next((d for d in dags if d.dag_id == req["dag_id"]), None)
    if dag is None:
        raise TaskError(f"DAG {req['dag_id']!r} is no longer defined in {path}")
    task = dag.task_dict.get(req["task_id"])
    if task is None:
        raise TaskError(f"Task {req['task_id']!r} is no longer in DAG {req['dag_id']!r}")
    return dag, task


def determine_kwargs(fn, args, kwargs, dialect="2"):
    """Airflow's ``KeywordParameters.determine``: every key when the callable
    takes ``**kwargs``, else only the names of its parameters. A positional
    argument may not take a name the keywords use; Airflow 2.10 checks the
    first ``len(args)`` parameters whatever their kind, Airflow 3 skips the
    keyword-only ones and ``**kwargs`` (which positional values never fill)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return dict(kwargs)
    names = list(sig.parameters)
    for name in names[:len(args)]:
        kind = sig.parameters[name].kind
        if dialect == "3" and kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD):
            continue
        if name in kwargs:
            raise ValueError(f"The key {name!r} in args is a part of kwargs and therefore reserved.")
    if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        return dict(kwargs)
    return {k: kwargs[k] for k in names if k in kwargs}


def _rendered(req, task, name, default):
    rendered = req.get("rendered") or {}
    original = getattr(task, name, default)
    if name in rendered:
        return trc.decode(rendered[name], original)
    return original if original is not None else default


def call_callable(req, task, context):
    """``python_callable(*op_args, **determine_kwargs(...))`` as PythonOperator
    and the TaskFlow decorators call it."""
    fn, op_args, kwargs = callable_arguments(req, task, context)
    return fn(*op_args, **kwargs)


def call_in_interpreter(req, task, context):
    """The virtualenv / external-Python kinds: the same arguments, from the
    context keys another interpreter can load, passed to a script it runs."""
    _fn, op_args, kwargs = callable_arguments(req, task, venv.serializable_context(context))
    return venv.execute(task, req["kind"], lambda name, default: _rendered(req, task, name, default),
                        venv.native_datetimes(op_args), venv.native_datetimes(kwargs))


def callable_arguments(req, task, context):
    """``(callable, op_args, kwargs)`` by Airflow's ``determine_kwargs``."""
    op_args = list(_rendered(req, task, "op_args", []) or [])
    op_kwargs = dict(_rendered(req, task, "op_kwargs", {}) or {})
    op_kwargs.update(trc.decode(req.get("expand_input") or {}))
    templates_dict = _rendered(req, task, "templates_dict", None)
    context["templates_dict"] = templates_dict
    merged = dict(context)
    merged.update(op_kwargs)
    merged["templates_dict"] = templates_dict
    fn = task.python_callable
    dialect = (req.get("context") or {}).get("dialect", "2")
    return fn, op_args, determine_kwargs(fn, op_args, merged, dialect)


def _apply_rendered(req, task):
    """A classic operator's rendered template fields (and mapped kwargs) as attributes."""
    for name, value in (req.get("rendered") or {}).items():
        setattr(task, name, trc.decode(value, getattr(task, name, NOTSET)))
    for name, value in (req.get("expand_input") or {}).items():
        setattr(task, name, trc.decode(value))


def _xcoms(task, ti, returned, do_push):
    out = list(ti.pushes)
    if not do_push or returned is None:
        return out
    if getattr(task, "multiple_outputs", False):
        if not isinstance(returned, dict):
            raise AirflowException(
                f"Returned output was type {type(returned)} expected dictionary for multiple_outputs")
        for key in returned:
            if not isinstance(key, str):
                raise AirflowException(
                    f"Returned dictionary keys must be strings when using multiple_outputs, found {key} "
                    f"({type(key)}) instead")
        out.extend([k, encode(v)] for k, v in returned.items())
    out.append(["return_value", encode(returned)])
    return out


def call_user_defined(req, task):
    """One call of a DAG's ``user_defined_macros`` / ``user_defined_filters``
    function, for the worker's native template renderer."""
    call = req.get("call") or {}
    kind, name = call.get("kind"), call.get("name")
    dag = task.dag
    table = dag.user_defined_macros if kind == "macro" else dag.user_defined_filters
    fn = (table or {}).get(name)
    if not callable(fn):
        raise TaskError(f"user-defined {kind} {name!r} is not a function of DAG {dag.dag_id!r}")
    value = fn(*[trc.decode(a) for a in call.get("args") or []])
    return {"state": "success", "message": "", "xcoms": [], "returned": encode(value),
            "truthy": bool(value), "poke": None}


def execute(req, task, context):
    """Runs the try; returns the success result or raises."""
    if req.get("mode") == "call":
        return call_user_defined(req, task)
    kind = req["kind"]
    ti = context["ti"]
    log = logging.getLogger("airflow.task")
    task.pre_execute(context)
    poke = None
    if req.get("mode") == "poke":
        if getattr(task, "python_callable", None) is not None:
            value = call_callable(req, task, context)
        else:
            _apply_rendered(req, task)
            value = task.poke(context)
        if not isinstance(value, PokeReturnValue):
            value = PokeReturnValue(bool(value))
        poke = {"done": bool(value.is_done), "xcom": encode(value.xcom_value)}
        returned = None
    elif req.get("mode") == "kafka":
        # A session job: the worker runs the Kafka client, we the user's functions.
        _apply_rendered(req, task)
        returned = kafka.execute(req, task, context)
    elif kind in CALLABLE_KINDS or kind == "bash":
        returned = call_callable(req, task, context)
        if kind == "bash" and (not isinstance(returned, str) or not returned.strip()):
            raise TypeError("The returned value from the TaskFlow callable must be a non-empty string.")
    elif kind in venv.KINDS:
        returned = call_in_interpreter(req, task, context)
    elif kind == "custom":
        _apply_rendered(req, task)
        returned = task.execute(context)
    else:
        raise TaskError(f"operator kind {kind!r} does not run in the Python task runner")
    task.post_execute(context, returned)
    if kind in ("python",) + venv.KINDS and returned is not None and getattr(task, "show_return_value_in_logs", True):
        log.info("Done. Returned value was: %s", returned)
    elif kind == "short_circuit":
        log.info("Condition result is %s", returned)
    do_push = bool(getattr(task, "do_xcom_push", True)) and kind != "bash" and poke is None
    return {
        "state": "success",
        "message": "",
        "xcoms": _xcoms(task, ti, returned, do_push),
        "returned": encode(returned),
        "truthy": bool(returned),
        "poke": poke,
    }


def failure(exc):
    """How an exception ends the try, with the traceback for the log."""
    if isinstance(exc, AirflowSkipException):
        return {"state": "skipped", "message": str(exc) or "Task skipped", "log": None}
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, (AirflowFailException, AirflowSensorTimeout)):
        state = "failed_no_retry"
    else:
        state = "failed"
    if isinstance(exc, SystemExit):
        message = f"Task exited with sys.exit({exc.code!r})"
    elif isinstance(exc, TaskError):
        message = str(exc)
        text = None
    else:
        message = f"{type(exc).__name__}: {exc}"
    return {"state": state, "message": message, "log": text}


def _setup_logging():
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("{%(filename)s:%(lineno)d} %(levelname)s - %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def run(req, result_fd):
    """Runs one request in this (child) process and writes its result line."""
    _setup_logging()
    trc.install_data(req)
    result = None
    try:
        dag, task = load_task(req)
        context = runtime_context.set_current_context(runtime_context.Context(trc.build_context(req, dag, task)))
        trc.export_context_env(req, task, context)
        result = execute(req, task, context)
    except BaseException as exc:  # noqa: BLE001 - every failure of user code ends the try
        result = failure(exc)
        if result.pop("log", None):
            logging.getLogger("airflow.task").error("Task failed with exception\n%s", failure_text(exc))
        result.update({"xcoms": [], "returned": None, "truthy": False, "poke": None})
    try:
        line = json.dumps(result).encode() + b"\n"
    except (TypeError, ValueError) as e:
        line = json.dumps({"state": "failed", "message": f"the task's result cannot be stored: {e}",
                           "xcoms": [], "returned": None, "truthy": False, "poke": None}).encode() + b"\n"
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - closed by the task
            pass
    view = memoryview(line)
    while view:
        n = os.write(result_fd, view)
        view = view[n:]


def failure_text(exc):
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip("\n")
