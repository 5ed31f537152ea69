"""Process set-up for the parse server: warming the interpreter before the
first fork, packing the allocator, and choosing how to fork (``fork``).

Everything here is an optimisation of per-file parse cost; see
``tools/bench_parse_server.py`` for the figures.
"""
import os
import signal
import sys

_READ = 1 << 16
_FORK = os.fork
_PRCTL = None
_PR_SET_PDEATHSIG = 1

try:
    import ctypes
except ImportError:  # pragma: no cover - ctypes is part of the standard library
    ctypes = None


def _single_threaded():
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def choose_fork():
    """Use libc's fork() directly when the process has exactly one thread.

    ``os.fork()`` also runs CPython's after-fork machinery (thread-state
    reinitialisation and the ``register_at_fork`` hooks of threading, logging,
    random...), which writes to a few hundred memory pages that then have to
    be copied on write; on virtual machines that costs ~0.4 ms per child. With
    a single thread there is nothing for that machinery to repair, so the raw
    system call is safe. With more threads (e.g. an embedding host) we keep
    ``os.fork()``. ``UPDRAFT_PARSE_OS_FORK=1`` forces ``os.fork()``.
    """
    global _FORK, _PRCTL
    _FORK = os.fork
    if ctypes is not None and _PRCTL is None:
        try:
            prctl = ctypes.PyDLL(None).prctl
            prctl.restype = ctypes.c_int
            prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]
            _PRCTL = prctl
        except (OSError, AttributeError):
            pass
    if ctypes is None or os.environ.get("UPDRAFT_PARSE_OS_FORK") == "1" or not _single_threaded():
        return _FORK
    try:
        libc = ctypes.PyDLL(None, use_errno=True)  # keeps the GIL held across the call
        libc.fork.restype = ctypes.c_int
        libc.fork.argtypes = []
        _FORK = libc.fork
    except (OSError, AttributeError):
        pass
    return _FORK


def warm_up():
    """Import everything a parse may need, once, before forking children."""
    import importlib
    import pkgutil

    import airflow

    for info in pkgutil.walk_packages(airflow.__path__, "airflow."):
        importlib.import_module(info.name)
    for name in ("pendulum", "dateutil.relativedelta", "zoneinfo", "typing", "dataclasses", "enum",
                 "functools", "itertools", "collections", "json", "uuid", "random", "textwrap", "logging",
                 "pathlib", "ctypes"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    from updraft_runtime import parse, parse_job  # noqa: F401

    _exercise(parse.parse_file)


# A DAG exercising the common paths; parsed repeatedly at start-up so that the
# interpreter's adaptive bytecode is specialised in the server, not re-written
# (and copied on write) in every forked child. Children parse batches, so a
# few rounds suffice; 120 cost 60 ms per server start for no measured gain.
_SAMPLE_DAG = """
from datetime import datetime, timedelta
from airflow import DAG
from airflow.decorators import task
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from airflow.utils.task_group import TaskGroup

def f(x):
    return x

with DAG(dag_id="updraft_warmup", schedule=None, start_date=datetime(2024, 1, 1), catchup=False,
         tags=["warmup"], default_args={"owner": "o", "retries": 1, "retry_delay": timedelta(minutes=1)}) as dag:
    prev = EmptyOperator(task_id="start")
    for i in range(8):
        t = BashOperator(task_id=f"step_{i}", bash_command="echo {{ ds }} " + str(i))
        prev >> t
        prev = t
    p = PythonOperator(task_id="py", python_callable=f, op_args=[1])
    with TaskGroup("g"):
        @task
        def g(v):
            return v
        prev >> p >> g(p.output)
    prev >> EmptyOperator(task_id="end")
"""


def _exercise(parse_file, rounds=20):
    import tempfile

    folder = tempfile.mkdtemp(prefix="updraft_warmup_")
    path = os.path.join(folder, "updraft_warmup.py")
    try:
        with open(path, "w") as f:
            f.write(_SAMPLE_DAG)
        for _ in range(rounds):
            parse_file(path, folder)
    finally:
        try:
            os.unlink(path)
            os.rmdir(folder)
        except OSError:
            pass


_HOLE_FILLER = []


def fill_allocator_holes():
    """Occupy the free blocks of pymalloc's partly used pools.

    Children then allocate from fresh, contiguous pools instead of scattered
    holes, which writes (and copies on write) far fewer pages per fork.
    """
    r, w = os.pipe()
    saved = os.dup(2)
    try:
        os.dup2(w, 2)
        os.close(w)
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    out = []
    while True:
        data = os.read(r, _READ)
        if not data:
            break
        out.append(data)
    os.close(r)
    for line in b"".join(out).decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 5 or not parts[0].isdigit():
            continue
        size, avail = int(parts[1]), int(parts[4])
        if size == 16:
            _HOLE_FILLER.extend(object() for _ in range(avail))
        elif size == 32:
            _HOLE_FILLER.extend(float(i) + 0.5 for i in range(avail))
        elif size >= 48:
            _HOLE_FILLER.extend(bytes(size - 33) for _ in range(avail))




def fork():
    """Fork with the function chosen by ``choose_fork`` (``os.fork`` by default)."""
    pid = _FORK()
    if pid < 0:
        raise OSError(ctypes.get_errno() if ctypes else 0, "fork failed")
    return pid


def die_with_parent(parent_pid):
    """Ask the kernel to SIGKILL this process if the server dies (no orphaned parses)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:
            os._exit(1)
