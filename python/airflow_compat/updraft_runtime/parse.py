"""Parses one DAG file into the contract's "parse result" object.

``parse_file(path, dags_folder)`` executes the file as a fresh module (named
like Airflow's ``unusual_prefix_<sha1>_<stem>``), collects the DAGs it made,
validates them, serializes them and catches every error (including
``SystemExit``), reporting the line of the DAG file where it arose. It never
raises. Timeouts, crashes and output limits are enforced by ``parse_server``.
"""
import builtins
import difflib  # noqa: F401 - imported here so forked children start warm
try:  # CPython's own SHA-1: avoids touching OpenSSL's code pages in every forked child
    from _sha1 import sha1 as _sha1
except ImportError:  # pragma: no cover
    from hashlib import sha1 as _sha1
import os
import re
import sys
import time
import traceback

import airflow
from airflow._updraft import context as ctx
from airflow._updraft.dag import DAG
from airflow._updraft.exceptions import (
    AirflowDagCycleException,
    AirflowTimetableInvalid,
    DuplicateTaskIdFound,
    InvalidArgumentsError,
    ParamValidationError,
    UnsupportedAirflowModule,
)
from airflow._updraft.schedule import encode_schedule
from updraft_runtime.serialize import serialize_dag

COMPAT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(airflow.__file__)))
_INTERNAL_PREFIXES = (os.path.join(COMPAT_DIR, "airflow") + os.sep, os.path.join(COMPAT_DIR, "updraft_runtime") + os.sep)
_V3_PREFIXES = ("airflow.sdk", "airflow.providers.standard")
_XCOM_CALL = re.compile(r"xcom_pull\s*\(([^)]*)\)")
_TASK_IDS_KW = re.compile(r"task_ids\s*=\s*(\[[^\]]*\]|\([^)]*\)|'[^']*'|\"[^\"]*\")")
_POSITIONAL = re.compile(r"^\s*(\[[^\]]*\]|'[^']*'|\"[^\"]*\")")
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_DAG_ID_KW = re.compile(r"\bdag_id\s*=")


class ParseError(Exception):
    """An error found after the file ran (cycle, invalid DAG, ...)."""

    def __init__(self, kind, message, line=None):
        super().__init__(message)
        self.kind = kind
        self.line = line


def _import_hook(real_import):
    state = ctx.STATE

    def hook(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.startswith("airflow"):
            if name.startswith(_V3_PREFIXES) or (name == "airflow" and fromlist and "sdk" in fromlist):
                state.dialect3 = True
        return real_import(name, globals, locals, fromlist, level)

    return hook


def module_name_for(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    return f"unusual_prefix_{_sha1(path.encode()).hexdigest()}_{stem}"


def _is_user_frame(filename):
    return not filename.startswith(_INTERNAL_PREFIXES) and not filename.startswith("<frozen")


def _error_from_exception(exc, path):
    tb = exc.__traceback__
    line = None
    walk = tb
    while walk is not None:
        if walk.tb_frame.f_code.co_filename == path:
            line = walk.tb_lineno
        walk = walk.tb_next
    if isinstance(exc, SyntaxError) and exc.filename == path:
        line = exc.lineno
    frames = [fs for fs in traceback.extract_tb(tb) if _is_user_frame(fs.filename)]
    text = "".join(traceback.format_list(frames))
    if text:
        text = "Traceback (most recent call last):\n" + text
    text += "".join(traceback.format_exception_only(type(exc), exc))
    if isinstance(exc, SystemExit):
        kind = "exit"
        message = f"The DAG file called sys.exit({exc.code!r}) while being parsed"
    elif isinstance(exc, UnsupportedAirflowModule):
        kind = "import_unsupported"
        message = str(exc)
    elif isinstance(exc, DuplicateTaskIdFound):
        kind = "duplicate_task_id"
        message = f"DuplicateTaskIdFound: {exc}"
    elif isinstance(exc, AirflowDagCycleException):
        kind = "cycle"
        message = str(exc)
    elif isinstance(exc, SyntaxError):
        kind = "exception"
        message = f"{type(exc).__name__}: {exc.msg} ({os.path.basename(exc.filename or path)}, line {exc.lineno})"
    else:
        kind = "exception"
        # Unknown operator arguments are a TypeError in Airflow 3: show them as such.
        name = "TypeError" if isinstance(exc, InvalidArgumentsError) else type(exc).__name__
        message = f"{name}: {exc}"
    return {"kind": kind, "message": message, "line": line, "traceback": text}


def _dag_line(dag, path):
    filename, line = getattr(dag, "_updraft_created_at", (None, None))
    return line if filename == path else None


def _collect(module, path):
    found, seen = [], set()
    for value in list(module.__dict__.values()) + ctx.STATE.autoregistered:
        if isinstance(value, DAG) and id(value) not in seen:
            seen.add(id(value))
            found.append(value)
    by_id = {}
    for dag in found:
        if dag.dag_id in by_id:
            raise ParseError("invalid_dag", f"DAG id '{dag.dag_id}' is defined more than once in this file",
                             _dag_line(dag, path))
        by_id[dag.dag_id] = dag
        dag.fileloc = path
    return [by_id[k] for k in sorted(by_id)]


def _validate(dag, dialect, path):
    cycle = dag.find_cycle()
    if cycle:
        raise ParseError("cycle", f"Cycle detected in DAG '{dag.dag_id}': {' -> '.join(cycle)}")
    try:
        schedule = encode_schedule(dag.schedule, dag.timezone)
    except AirflowTimetableInvalid as e:
        raise ParseError("invalid_dag", f"DAG '{dag.dag_id}': {e}", _dag_line(dag, path)) from None
    schedulable = schedule["type"] != "none" and not (schedule["type"] == "default" and dialect == "3")
    if schedulable and dag.params:
        try:
            dag.params.validate()
        except ParamValidationError as e:
            raise ParseError(
                "invalid_dag",
                f"DAG '{dag.dag_id}' is not allowed to define a Schedule, if there are any required params "
                f"without default values or default values are not valid. ({e})",
                _dag_line(dag, path),
            ) from None
    for task in dag.task_dict.values():
        if task.is_setup:
            for down in task.downstream_list:
                if not down.is_teardown and str(down.trigger_rule) != "all_success":
                    raise ParseError(
                        "invalid_dag",
                        f"DAG '{dag.dag_id}': setup task '{task.task_id}' must be followed with trigger rule "
                        f"ALL_SUCCESS ('{down.task_id}' has {str(down.trigger_rule)!r}).",
                        _dag_line(dag, path),
                    )


def _iter_strings(value):
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, (list, tuple, set)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())


def _pulled_ids(args):
    if _DAG_ID_KW.search(args):
        return []
    m = _TASK_IDS_KW.search(args) or _POSITIONAL.match(args)
    if not m:
        return []
    return [a or b for a, b in _QUOTED.findall(m.group(1))]


def xcom_warnings(dag):
    out = []
    task_ids = dag.task_dict
    for tid in sorted(task_ids):
        task = task_ids[tid]
        for field in type(task).template_fields:
            for text in _iter_strings(getattr(task, field, None)):
                if "xcom_pull" not in text:
                    continue
                for m in _XCOM_CALL.finditer(text):
                    for pulled in _pulled_ids(m.group(1)):
                        if pulled in task_ids:
                            continue
                        close = difflib.get_close_matches(pulled, list(task_ids), n=1)
                        hint = f" Did you mean {close[0]!r}?" if close else ""
                        out.append({
                            "dag_id": dag.dag_id,
                            "task_id": tid,
                            "kind": "xcom_pull_unknown_task",
                            "message": (
                                f"Task '{tid}' field '{field}' pulls XCom from task_ids='{pulled}', but DAG "
                                f"'{dag.dag_id}' has no task '{pulled}': the pull will return None.{hint}"
                            ),
                        })
    return out


def _run_module(path, dags_folder):
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            parts.append(chunk)
    finally:
        os.close(fd)
    source = b"".join(parts)
    code = compile(source, path, "exec", dont_inherit=True)
    name = module_name_for(path)
    module = type(sys)(name)
    module.__file__ = path
    module.__builtins__ = builtins
    sys.modules[name] = module
    exec(code, module.__dict__)
    return module, name


def parse_file(path, dags_folder=None):
    """Parse one DAG file; always returns the parse-result dict."""
    start = time.perf_counter()
    path = os.path.abspath(path)
    result = {"path": path, "ok": False, "dags": [], "error": None, "warnings": [], "duration_ms": 0.0}
    ctx.reset()
    saved_path = list(sys.path)
    if dags_folder and dags_folder not in sys.path:
        try:
            pos = sys.path.index(COMPAT_DIR) + 1
        except ValueError:
            pos = 0
        sys.path.insert(pos, dags_folder)
    real_import = builtins.__import__
    builtins.__import__ = _import_hook(real_import)
    module_name = None
    try:
        try:
            module, module_name = _run_module(path, dags_folder)
        finally:
            builtins.__import__ = real_import
        dialect = "3" if ctx.STATE.dialect3 else "2"
        dags = _collect(module, path)
        for dag in dags:
            _validate(dag, dialect, path)
        result["dags"] = [serialize_dag(dag, dialect) for dag in dags]
        warnings = []
        for dag in dags:
            warnings.extend(xcom_warnings(dag))
        result["warnings"] = warnings
        result["ok"] = True
    except ParseError as e:
        result["error"] = {"kind": e.kind, "message": str(e), "line": e.line, "traceback": ""}
    except BaseException as e:  # noqa: BLE001 - every failure of user code becomes a parse error
        result["error"] = _error_from_exception(e, path)
        result["dags"] = []
    finally:
        builtins.__import__ = real_import
        sys.path[:] = saved_path
        if module_name is not None:
            sys.modules.pop(module_name, None)
        ctx.reset()
    result["duration_ms"] = round((time.perf_counter() - start) * 1000.0, 3)
    return result
