"""PythonVirtualenvOperator / ``@task.virtualenv`` and ExternalPythonOperator /
``@task.external_python`` (and their branch variants), run from the task's
forked child as Airflow's ``_BasePythonVirtualenvOperator`` runs them: the
callable's source (dedented, its ``@task...`` decorator removed) is written
into a script that another interpreter runs with the arguments serialized
(pickle, or dill / cloudpickle when importable); the result comes back the
same way. The interpreter inherits fds 1 and 2 (the task log, streamed) and
this child's process group, so a timeout or a lost lease kills it too.

Virtualenvs are cached (Airflow only caches with ``venv_cache_path``; we
always do) under ``venv_cache_path`` or the Updraft home
(``$UPDRAFT_HOME/python/venvs``, next to the extracted compatibility
package), keyed by a hash of what makes them differ. A venv is built in a
temporary directory and renamed into place under a lock, so no try ever runs
in a half-built one. (Console scripts pip installs keep the temporary path in
their shebang; the callable runs with ``bin/python``, which the rename does
not affect.)
"""
import ast
import datetime as _dt
import fcntl
import hashlib
import importlib
import inspect
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

from airflow._updraft.exceptions import AirflowException, AirflowSkipException

VENV_KINDS = ("python_virtualenv", "branch_python_virtualenv")
EXTERNAL_KINDS = ("external_python", "branch_external_python")
KINDS = VENV_KINDS + EXTERNAL_KINDS
SERIALIZERS = ("pickle", "dill", "cloudpickle")

# Airflow's BASE_SERIALIZABLE_CONTEXT_KEYS plus the pendulum keys, which we
# pass as plain aware datetimes (loadable without pendulum in the target).
# Airflow's own objects (dag, task, dag_run, macros, conf) need the airflow
# package in the target interpreter and are not passed; ``params`` is a plain
# dict here, so it is.
_CONTEXT_KEYS = frozenset({
    "ds", "ds_nodash", "expanded_ti_count", "inlets", "outlets", "run_id", "task_instance_key_str",
    "test_mode", "ts", "ts_nodash", "ts_nodash_with_tz", "next_ds", "next_ds_nodash", "prev_ds",
    "prev_ds_nodash", "tomorrow_ds", "tomorrow_ds_nodash", "yesterday_ds", "yesterday_ds_nodash",
    "task_reschedule_count", "data_interval_end", "data_interval_start", "logical_date",
    "prev_data_interval_end_success", "prev_data_interval_start_success", "prev_start_date_success",
    "prev_end_date_success", "execution_date", "next_execution_date", "prev_execution_date",
    "prev_execution_date_success", "params",
})
_TASK_DECORATOR = re.compile(r"^@\s*([\w.]+\.)?(task|setup|teardown)\b")

log = logging.getLogger("airflow.task")


def serializable_context(context):
    """The context keys the other interpreter receives (see ``_CONTEXT_KEYS``)."""
    out = {}
    for key, value in context.items():
        if key not in _CONTEXT_KEYS:
            continue
        if key in ("inlets", "outlets") and value:
            continue  # Asset objects need the airflow package to load
        out[key] = native_datetimes(value)
    return out


def native_datetimes(value):
    """pendulum DateTimes → ``datetime.datetime`` (same instant and offset)."""
    if isinstance(value, _dt.datetime) and type(value) is not _dt.datetime:
        offset = value.utcoffset()
        tz = _dt.timezone(offset) if offset is not None else None
        return _dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                            value.microsecond, tzinfo=tz)
    if isinstance(value, dict):
        return {k: native_datetimes(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(native_datetimes(v) for v in value)
    return value


def callable_source(fn):
    """``inspect.getsource``, dedented, without the TaskFlow decorator(s)
    (Airflow's ``remove_task_decorator``); other decorators stay."""
    source = textwrap.dedent(inspect.getsource(fn))
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if node is None or not node.decorator_list:
        return source
    lines = source.splitlines(keepends=True)
    drop = set()
    for deco in node.decorator_list:
        start = deco.lineno - 1  # the line of its "@"
        if _TASK_DECORATOR.match(lines[start].lstrip()):
            drop.update(range(start, deco.end_lineno))
    return "".join(line for i, line in enumerate(lines) if i not in drop)


def _serializer(name):
    if name not in SERIALIZERS:
        raise AirflowException(f"Unsupported serializer {name!r}. Expected one of "
                               f"{', '.join(map(repr, SERIALIZERS))}")
    try:
        return importlib.import_module(name)
    except ImportError:
        raise AirflowException(f"serializer={name!r} needs the {name!r} package, which is not installed "
                               f"for the worker's Python ({sys.version.split()[0]}); install it or use "
                               f"serializer='pickle'") from None


_SCRIPT = """\
import sys
import {ser}

{source}

with open(sys.argv[1], "rb") as _f:
    _arg_dict = {ser}.load(_f)
with open(sys.argv[3], "r") as _f:
    virtualenv_string_args = [_line.strip() for _line in _f]
try:
    _res = {name}(*_arg_dict["args"], **_arg_dict["kwargs"])
except Exception as _e:
    with open(sys.argv[4], "w") as _f:
        _f.write(str(_e))
    raise
with open(sys.argv[2], "wb") as _f:
    if _res is not None:
        {ser}.dump(_res, _f)
"""


def skip_codes(value):
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return list(value)


def execute(task, kind, rendered, args, kwargs):
    """Runs the callable of a venv / external-Python task in its interpreter;
    ``rendered(name, default)`` reads a rendered template field."""
    serializer = getattr(task, "serializer", None) or "pickle"
    _serializer(serializer)  # a clear error before any venv is built
    if kind in EXTERNAL_KINDS:
        python = external_python(rendered("python", None))
    else:
        python = ensure_venv(task, rendered)
    settings = {
        "serializer": serializer,
        "string_args": getattr(task, "string_args", None),
        "skip_on_exit_code": getattr(task, "skip_on_exit_code", None),
        "env_vars": getattr(task, "env_vars", None),
        "inherit_env": getattr(task, "inherit_env", True),
    }
    return run_in_interpreter(python, task, args, kwargs, settings)


def run_in_interpreter(python, task, args, kwargs, settings):
    """Runs ``task.python_callable(*args, **kwargs)`` with the interpreter
    ``python`` and returns its result. ``settings``: serializer, string_args,
    skip_on_exit_code, env_vars, inherit_env."""
    ser = _serializer(settings["serializer"])
    fn = task.python_callable
    with tempfile.TemporaryDirectory(prefix="venv-call") as tmp:
        paths = [os.path.join(tmp, n) for n in ("script.in", "script.out", "string_args.txt",
                                                 "termination.log", "script.py")]
        in_path, out_path, strings_path, term_path, script_path = paths
        if args or kwargs:
            log.info("Use %r as serializer.", settings["serializer"])
        with open(in_path, "wb") as f:
            ser.dump({"args": list(args), "kwargs": dict(kwargs)}, f)
        with open(strings_path, "w") as f:
            f.write("\n".join(map(str, settings.get("string_args") or [])))
        with open(script_path, "w") as f:
            f.write(_SCRIPT.format(ser=settings["serializer"], source=callable_source(fn), name=fn.__name__))
        env = dict(os.environ) if settings.get("inherit_env", True) else {}
        env.update({str(k): str(v) for k, v in (settings.get("env_vars") or {}).items()})
        env.setdefault("PYTHONUNBUFFERED", "1")  # its lines reach the log as they are printed
        cmd = [python, script_path, in_path, out_path, strings_path, term_path]
        code = _call(cmd, env)
        codes = skip_codes(settings.get("skip_on_exit_code"))
        if code in codes:
            raise AirflowSkipException(f"Process exited with code {code}. Skipping.")
        if code != 0:
            message = f"Process returned non-zero exit status {code}."
            if os.path.exists(term_path) and os.path.getsize(term_path) > 0:
                with open(term_path) as f:
                    message += "\n" + f.read()
            raise AirflowException(message)
        if not os.path.exists(out_path) or os.path.getsize(out_path) == 0:
            return None
        with open(out_path, "rb") as f:
            try:
                return ser.load(f)
            except Exception as e:  # noqa: BLE001 - any load error is the result's
                raise AirflowException(f"Error deserializing the result of the callable: {e}") from e


def _call(cmd, env):
    """Runs ``cmd`` with our fds 1 and 2 (the task log) and waits; it dies
    with us (PR_SET_PDEATHSIG) and shares our process group."""
    log.info("Executing cmd: %s", " ".join(cmd))
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, preexec_fn=_die_with_us)
    except OSError as e:
        raise AirflowException(f"Cannot run {cmd[0]}: {e}") from None
    return proc.wait()


def _die_with_us():
    from updraft_runtime import forking

    if forking._PRCTL is not None:
        forking._PRCTL(forking._PR_SET_PDEATHSIG, 9)


def _check(cmd, what):
    code = _call(cmd, dict(os.environ))
    if code != 0:
        raise AirflowException(f"{what} failed with exit code {code} (see the output above)")


def external_python(path):
    """ExternalPythonOperator's checks on ``python`` (Airflow's messages)."""
    if not path:
        raise ValueError("Python Path must be defined in ExternalPythonOperator")
    if not os.path.exists(path):
        raise ValueError(f"Python Path '{path}' must exists")
    if not os.path.isfile(path):
        raise ValueError(f"Python Path '{path}' must be a file")
    if not os.path.isabs(path):
        raise ValueError(f"Python Path '{path}' must be an absolute path.")
    return path


def base_python(python_version):
    """The interpreter a venv is made from: ``python{python_version}``, or the
    one matching the worker's own Python when no version is given."""
    version = str(python_version) if python_version else f"{sys.version_info[0]}.{sys.version_info[1]}"
    name = f"python{version}"
    for candidate in (os.path.join(sys.base_prefix, "bin", name), shutil.which(name)):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise AirflowException(f"python_version={version!r}: no interpreter {name} found (looked in "
                           f"{os.path.join(sys.base_prefix, 'bin')} and on PATH)")


def _requirements(task, rendered):
    value = rendered("requirements", [])
    if not value:
        reqs = []
    elif isinstance(value, str):
        reqs = [value]
    else:
        reqs = [str(r) for r in value]
    # One entry may be a requirements file's contents (template_ext .txt).
    reqs = [line.strip() for r in reqs for line in r.splitlines() if line.strip()]
    serializer = getattr(task, "serializer", "pickle")
    if not getattr(task, "system_site_packages", True) and serializer in ("dill", "cloudpickle") \
            and serializer not in reqs:
        reqs.append(serializer)
    return sorted(reqs)


def _index_urls(value):
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(u) for u in value]


def default_cache_root():
    """``$UPDRAFT_HOME/python/venvs``: the compatibility package is extracted
    in ``$UPDRAFT_HOME/python/<hash>``."""
    compat = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(os.path.dirname(compat), "venvs")


def ensure_venv(task, rendered):
    """The cached venv's interpreter, built first when missing."""
    base = base_python(getattr(task, "python_version", None))
    spec = {
        "python": base,
        "python_version": getattr(task, "python_version", None),
        "requirements": _requirements(task, rendered),
        "system_site_packages": bool(getattr(task, "system_site_packages", True)),
        "pip_install_options": list(getattr(task, "pip_install_options", None) or []),
        "index_urls": _index_urls(rendered("index_urls", None)),
    }
    text = json.dumps(spec, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    root = rendered("venv_cache_path", None) or default_cache_root()
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, f"venv-{digest}")
    marker = os.path.join(final, "install_complete_marker.json")
    python = os.path.join(final, "bin", "python")
    with open(final + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per venv; released if we are killed
        if _read(marker) == text and os.path.exists(python):
            log.info("Reusing cached Python virtual environment in %s", final)
            return python
        for name in os.listdir(root):  # what killed builders left (we hold the lock)
            if name.startswith(f".tmp-venv-{digest}-"):
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        if os.path.exists(final):
            log.warning("Found a partial or outdated virtual environment in %s, re-creating it", final)
            shutil.rmtree(final)
        build = tempfile.mkdtemp(prefix=f".tmp-venv-{digest}-", dir=root)
        try:
            _build(build, spec)
            with open(os.path.join(build, "install_complete_marker.json"), "w") as f:
                f.write(text)
            os.rename(build, final)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
    log.info("New Python virtual environment created in %s", final)
    return python


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _build(path, spec):
    cmd = [spec["python"], "-m", "venv"]
    if spec["system_site_packages"]:
        cmd.append("--system-site-packages")
    if not spec["requirements"]:
        cmd.append("--without-pip")  # nothing to install: 30 ms instead of 2 s
    _check(cmd + [path], "Creating the virtual environment")
    if not spec["requirements"]:
        return
    req_file = os.path.join(path, "requirements.txt")
    with open(req_file, "w") as f:
        f.write("\n".join(spec["requirements"]))
    _check(pip_command(path, spec, req_file), "Installing the requirements")


def pip_command(path, spec, req_file):
    """``pip install`` in the venv at ``path``: index URLs (the first is the
    index, the others extra; an empty list means no index), then
    ``pip_install_options``."""
    pip = [os.path.join(path, "bin", "python"), "-m", "pip", "install"]
    urls = spec["index_urls"]
    if urls is not None:
        # Airflow writes these to the venv's pip.conf; arguments do the same for this install.
        pip += ["--index-url", urls[0], *[a for u in urls[1:] for a in ("--extra-index-url", u)]] \
            if urls else ["--no-index"]
    return pip + spec["pip_install_options"] + ["-r", req_file]
