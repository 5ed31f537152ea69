"""What a running Python task sees: Airflow's context dict, built from the
worker's request, and the objects in it (``ti`` with ``xcom_push`` /
``xcom_pull``, ``dag_run``, ``var``, ``conn``).

The worker sends the run's XComs, Variables and Connections with the
request; nothing here talks to the database. XComs pushed by the task are
collected in ``TaskInstanceRef.pushes`` and sent back with the result.
"""
import datetime as _dt
import json
import os

from airflow._updraft import runtime
from airflow._updraft.compat import NOTSET
from airflow._updraft.encode import encode
from airflow._updraft.exceptions import AirflowNotFoundException

# Names whose values are masked in the task log (Airflow's DEFAULT_SENSITIVE_FIELDS).
_SENSITIVE = ("access_key", "access_token", "api_key", "apikey", "authorization", "connection_string",
              "passphrase", "passwd", "password", "private_key", "proxy", "proxies", "secret", "token",
              "keyfile_dict", "service_account")
MASK_PREFIX = b"\x00updraft-mask:"

try:  # pendulum when installed, as in Airflow; plain aware datetimes otherwise
    import pendulum
except Exception:  # noqa: BLE001 - optional
    pendulum = None


def is_sensitive(name):
    name = str(name).strip().lower()
    return any(s in name for s in _SENSITIVE)


def mask_secret(value, fd=2):
    """Tell the worker to hide ``value`` in this task's log from now on.

    The marker travels on the log pipe itself, so it reaches the worker
    before any later output line that could contain the secret."""
    if value is None or value == "" or value == "airflow":
        return
    if isinstance(value, dict):
        for v in value.values():
            mask_secret(v, fd)
        return
    text = value if isinstance(value, str) else json.dumps(value)
    for stream in (_sys().stdout, _sys().stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed stream
            pass
    line = MASK_PREFIX + json.dumps(text).encode() + b"\n"
    try:
        os.write(fd, line)
    except OSError:
        pass


def _sys():
    import sys

    return sys


def parse_datetime(text):
    if text is None:
        return None
    value = _dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    if pendulum is not None:
        return pendulum.instance(value)
    return value


def decode(value, original=NOTSET):
    """Tagged JSON → Python. Where a value cannot round-trip (callables,
    ``repr``-tagged objects) the DAG file's own object at the same place
    (``original``) is kept."""
    if isinstance(value, list):
        orig = original if isinstance(original, (list, tuple)) and len(original) == len(value) else None
        return [decode(v, orig[i] if orig is not None else NOTSET) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    tag, var = value.get("__type"), value.get("__var")
    if tag is None or "__var" not in value or len(value) != 2:
        orig = original if isinstance(original, dict) else {}
        return {k: decode(v, orig.get(k, NOTSET)) for k, v in value.items()}
    if tag == "datetime":
        return parse_datetime(var)
    if tag == "date":
        return _dt.date.fromisoformat(var)
    if tag == "time":
        return _dt.time.fromisoformat(var)
    if tag == "timedelta":
        return _dt.timedelta(seconds=var)
    if tag == "tuple":
        orig = original if isinstance(original, tuple) else NOTSET
        return tuple(decode(var, list(orig) if orig is not NOTSET else NOTSET))
    if tag == "set":
        return set(decode(var))
    if tag == "literal":
        return decode(var, getattr(original, "value", NOTSET))
    if tag == "relativedelta":
        try:
            from dateutil.relativedelta import relativedelta

            return relativedelta(**var)
        except Exception:  # noqa: BLE001 - keep the file's object
            pass
    if tag == "param" and isinstance(var, dict):
        return decode(var.get("value"))
    if original is not NOTSET:
        return original
    return value


class _Accessor:
    """``var.value.KEY`` / ``var.json.KEY`` / ``var.value.get(key, default)``."""

    def __init__(self, values, as_json):
        self._values = values
        self._json = as_json

    def get(self, key, default_var=NOTSET, default=NOTSET):
        if default is not NOTSET:
            default_var = default
        if key not in self._values:
            if default_var is not NOTSET:
                return default_var
            raise KeyError(f"Variable {key} does not exist")
        raw = self._values[key]
        if is_sensitive(key):
            mask_secret(raw)
        return json.loads(raw) if self._json else raw

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        return self.get(key)

    def __getitem__(self, key):
        return self.get(key)


class VarAccessor:
    def __init__(self, values):
        self.value = _Accessor(values, False)
        self.json = _Accessor(values, True)


class ConnAccessor:
    def __init__(self, conns):
        self._conns = conns

    def get(self, conn_id, default=None):
        try:
            return runtime.Connection.get(conn_id)
        except AirflowNotFoundException:
            return default

    def __getattr__(self, conn_id):
        if conn_id.startswith("__"):
            raise AttributeError(conn_id)
        return runtime.Connection.get(conn_id)


class DagRunRef:
    """``dag_run``: what a task may read of its run."""

    def __init__(self, req, ctx):
        self.dag_id = req["dag_id"]
        self.run_id = req["run_id"]
        self.conf = dict(ctx.get("conf") or {})
        self.logical_date = parse_datetime(ctx.get("logical_date"))
        self.execution_date = self.logical_date
        self.data_interval_start = parse_datetime(ctx.get("data_interval_start"))
        self.data_interval_end = parse_datetime(ctx.get("data_interval_end"))
        self.run_type = ctx.get("run_type") or "manual"
        self.external_trigger = self.run_type == "manual"

    def __repr__(self):
        return f"<DagRun {self.dag_id} @ {self.logical_date}: {self.run_id}>"


class TaskInstanceRef:
    """``ti`` / ``task_instance``: XCom push/pull against the run's XComs
    (snapshot sent by the worker) and this try's own pushes."""

    def __init__(self, req, ctx, task, xcoms):
        self.dag_id = req["dag_id"]
        self.task_id = req["task_id"]
        self.run_id = req["run_id"]
        self.try_number = ctx.get("try_number", 1)
        self.map_index = ctx.get("map_index", -1)
        self.task = task
        self.state = "running"
        self.hostname = os.uname().nodename
        self._dialect = ctx.get("dialect", "2")
        self._xcoms = {}
        for row in xcoms:
            self._xcoms[(row["task_id"], row["key"])] = row.get("value")
        self.pushes = []

    def xcom_push(self, key, value, *args, **kwargs):
        encoded = encode(value)
        json.dumps(encoded)  # a value that cannot be stored fails here, in the task
        self.pushes.append([str(key), encoded])
        self._xcoms[(self.task_id, str(key))] = encoded

    def _one(self, task_id, key, default):
        if key is None:  # 2.x: no key filter
            for (t, _k), v in self._xcoms.items():
                if t == task_id:
                    return decode(v)
            return default
        if (task_id, key) not in self._xcoms:
            return default
        return decode(self._xcoms[(task_id, key)])

    def xcom_pull(self, task_ids=None, dag_id=None, key="return_value", include_prior_dates=False,
                  map_indexes=None, default=None, run_id=None):
        if task_ids is None:
            if self._dialect == "3":
                return self._one(self.task_id, key, default)
            for (t, k), v in self._xcoms.items():
                if key is None or k == key:
                    return decode(v)
            return default
        if isinstance(task_ids, str):
            return self._one(task_ids, key, default)
        return [self._one(t, key, default) for t in task_ids]

    def get_template_context(self):
        from airflow._updraft import runtime_context

        return runtime_context.get_current_context()

    def __repr__(self):
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id} [running]>"


def build_context(req, dag, task):
    """Airflow's context dict for this try (reference §5.1)."""
    from airflow import macros

    ctx = req.get("context") or {}
    v2 = ctx.get("dialect", "2") != "3"
    ti = TaskInstanceRef(req, ctx, task, req.get("xcoms") or [])
    dag_run = DagRunRef(req, ctx)
    params = dict(ctx.get("params") or {})
    if isinstance(dag_run.conf, dict):  # [core] dag_run_conf_overrides_params = True
        params.update(dag_run.conf)
    out = {
        "dag": dag,
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "run_id": req["run_id"],
        "dag_run": dag_run,
        "params": params,
        "macros": macros,
        "var": VarAccessor(req.get("variables") or {}),
        "conn": ConnAccessor(req.get("connections") or {}),
        "task_instance_key_str": f"{req['dag_id']}__{req['task_id']}__",
        "test_mode": False,
        "templates_dict": None,
        "map_index_template": None,
        "expanded_ti_count": None,
        "inlets": list(getattr(task, "inlets", []) or []),
        "outlets": list(getattr(task, "outlets", []) or []),
        "data_interval_start": dag_run.data_interval_start,
        "data_interval_end": dag_run.data_interval_end,
    }
    ld = dag_run.logical_date
    if ld is not None:
        out["logical_date"] = ld
        out["ds"] = ld.strftime("%Y-%m-%d")
        out["ds_nodash"] = ld.strftime("%Y%m%d")
        out["ts"] = ld.isoformat()
        out["ts_nodash"] = ld.strftime("%Y%m%dT%H%M%S")
        out["ts_nodash_with_tz"] = ld.isoformat().replace("-", "").replace(":", "")
        out["task_instance_key_str"] = f"{req['dag_id']}__{req['task_id']}__{out['ds_nodash']}"
    elif v2:
        out["logical_date"] = None
    if v2:
        out["try_number"] = ti.try_number
        out["execution_date"] = ld
        out["conf"] = runtime.conf
    else:
        out["start_date"] = _dt.datetime.now(_dt.timezone.utc)
    return out


def export_context_env(req, task, context):
    """Airflow's ``AIRFLOW_CTX_*`` variables, set in the task's environment
    (``context_to_airflow_vars``), so subprocesses the task starts see them."""
    env = {
        "AIRFLOW_CTX_DAG_OWNER": str(getattr(task, "owner", "airflow") or "airflow"),
        "AIRFLOW_CTX_DAG_ID": req["dag_id"],
        "AIRFLOW_CTX_TASK_ID": req["task_id"],
        "AIRFLOW_CTX_TRY_NUMBER": str(context["ti"].try_number),
        "AIRFLOW_CTX_DAG_RUN_ID": req["run_id"],
    }
    ld = context.get("logical_date")
    if ld is not None:
        env["AIRFLOW_CTX_LOGICAL_DATE"] = ld.isoformat()
        if (req.get("context") or {}).get("dialect", "2") != "3":
            env["AIRFLOW_CTX_EXECUTION_DATE"] = ld.isoformat()
    os.environ.update(env)


def install_data(req):
    """Variables and Connections read inside the task (``Variable.get``,
    ``BaseHook.get_connection``) come from the worker's snapshot first."""
    runtime.TASK_DATA["variables"] = dict(req.get("variables") or {})
    runtime.TASK_DATA["connections"] = dict(req.get("connections") or {})
    runtime.TASK_DATA["on_secret"] = mask_secret
