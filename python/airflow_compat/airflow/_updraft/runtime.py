"""Parse-time stand-ins for the metadata-database APIs: ``Variable``,
``Connection``, ``BaseHook``, ``BaseNotifier`` and ``conf``.

A DAG file that reads a Variable or Connection at its top level gets the
value from the environment (``AIRFLOW_VAR_<KEY>``, ``AIRFLOW_CONN_<ID>``, as
Airflow's environment-variables secrets backend), else the default, else a
clear ``AirflowNotFoundException``.
"""
import json
import os
from urllib.parse import parse_qsl, unquote, urlsplit

from .compat import NOTSET
from .exceptions import AirflowConfigException, AirflowException, AirflowNotFoundException, VariableNotFound

# Set by the Python task runner in a task's process: the worker's snapshot of
# Variables and Connections, and a callback that masks secrets in the log.
TASK_DATA = {}


def _note_secret(name, value):
    hook = TASK_DATA.get("on_secret")
    if hook is None or value is None:
        return
    from updraft_runtime.task_runner_context import is_sensitive

    if is_sensitive(name):
        hook(value)


class Variable:
    """``Variable.get(key, default_var=..., deserialize_json=False)`` (2.x) / ``default=`` (3.x)."""

    def __init__(self, key=None, val=None, description=None):
        self.key = key
        self.val = val
        self.description = description

    @classmethod
    def get(cls, key, default_var=NOTSET, deserialize_json=False, *, default=NOTSET):
        if default is not NOTSET:
            default_var = default
        raw = TASK_DATA.get("variables", {}).get(str(key))
        if raw is None:
            raw = os.environ.get("AIRFLOW_VAR_" + str(key).upper())
        else:
            _note_secret(key, raw)
        if raw is None:
            if default_var is not NOTSET:
                return default_var
            raise VariableNotFound(
                f"Variable {key!r} does not exist. While parsing DAG files Updraft reads variables only from "
                f"the environment (AIRFLOW_VAR_{str(key).upper()}); pass default_var=/default= or read it "
                f"inside a task or a template ({{{{ var.value.{key} }}}}) instead of at the top of the file."
            )
        if deserialize_json:
            return json.loads(raw)
        return raw

    @classmethod
    def set(cls, key, value, description=None, serialize_json=False, **kwargs):
        raise AirflowException("Variable.set() cannot be used while parsing a DAG file in Updraft")

    @classmethod
    def delete(cls, key, **kwargs):
        raise AirflowException("Variable.delete() cannot be used while parsing a DAG file in Updraft")

    @classmethod
    def setdefault(cls, key, default, description=None, deserialize_json=False):
        return cls.get(key, default_var=default, deserialize_json=deserialize_json)


class Connection:
    """A connection's fields; ``Connection.get(conn_id)`` reads ``AIRFLOW_CONN_<ID>``."""

    def __init__(self, conn_id=None, conn_type=None, description=None, host=None, login=None, password=None,
                 schema=None, port=None, extra=None, uri=None):
        self.conn_id = conn_id
        self.conn_type = conn_type
        self.description = description
        self.host = host
        self.login = login
        self.password = password
        self.schema = schema
        self.port = port
        self.extra = extra if isinstance(extra, str) or extra is None else json.dumps(extra)
        if uri:
            self._parse_uri(uri)

    def _parse_uri(self, uri):
        parts = urlsplit(uri)
        self.conn_type = parts.scheme.replace("-", "_")
        self.host = unquote(parts.hostname) if parts.hostname else None
        self.login = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.port = parts.port
        self.schema = unquote(parts.path.lstrip("/")) or None
        if parts.query:
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            self.extra = query.pop("__extra__", None) or json.dumps(query)

    @property
    def extra_dejson(self):
        if not self.extra:
            return {}
        try:
            return json.loads(self.extra)
        except ValueError:
            return {}

    def get_uri(self):
        return f"{self.conn_type}://{self.host or ''}"

    @classmethod
    def from_env(cls, conn_id):
        known = TASK_DATA.get("connections", {}).get(conn_id)
        if known is not None:
            conn = cls(conn_id=conn_id, **{k: v for k, v in known.items() if k != "conn_id"})
            _note_secret("password", conn.password)
            for k, v in conn.extra_dejson.items():
                _note_secret(k, v)
            return conn
        raw = os.environ.get("AIRFLOW_CONN_" + conn_id.upper())
        if raw is None:
            return None
        if raw.lstrip().startswith("{"):
            data = json.loads(raw)
            return cls(conn_id=conn_id, **{k: v for k, v in data.items() if k != "conn_id"})
        return cls(conn_id=conn_id, uri=raw)

    @classmethod
    def get(cls, conn_id):
        conn = cls.from_env(conn_id)
        if conn is None:
            raise AirflowNotFoundException(
                f"The conn_id `{conn_id}` isn't defined. While parsing DAG files Updraft reads connections only "
                f"from the environment (AIRFLOW_CONN_{conn_id.upper()}); use the connection inside a task instead."
            )
        return conn

    get_connection_from_secrets = get


class BaseHook:
    """Base class for hooks; ``get_connection`` follows ``Connection.get``."""

    conn_name_attr = None
    default_conn_name = None
    conn_type = None
    hook_name = None

    def __init__(self, logger_name=None, **kwargs):
        self._logger_name = logger_name

    @classmethod
    def get_connection(cls, conn_id):
        return Connection.get(conn_id)

    @classmethod
    def get_hook(cls, conn_id, hook_params=None):
        raise AirflowException("Hooks cannot be created from connections while parsing a DAG file in Updraft")

    def get_conn(self):
        raise NotImplementedError


class BaseNotifier:
    """Base class for notifiers (callables used as callbacks or HITL notifiers)."""

    template_fields = ()
    template_ext = ()

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    def notify(self, context):
        raise NotImplementedError

    def __call__(self, *args):
        context = args[0] if args else {}
        return self.notify(context)


_DEFAULTS = {
    ("core", "dags_folder"): "",
    ("core", "default_timezone"): "utc",
    ("core", "executor"): "LocalExecutor",
    ("core", "parallelism"): "32",
    ("core", "max_active_tasks_per_dag"): "16",
    ("core", "max_active_runs_per_dag"): "16",
    ("core", "max_consecutive_failed_dag_runs_per_dag"): "0",
    ("core", "dags_are_paused_at_creation"): "True",
    ("core", "load_examples"): "False",
    ("core", "default_task_retries"): "0",
    ("core", "default_task_retry_delay"): "300",
    ("core", "max_task_retry_delay"): "86400",
    ("core", "default_task_weight_rule"): "downstream",
    ("core", "default_task_execution_timeout"): "",
    ("core", "dagbag_import_timeout"): "30.0",
    ("core", "dag_run_conf_overrides_params"): "True",
    ("core", "enable_xcom_pickling"): "False",
    ("core", "max_map_length"): "1024",
    ("core", "default_pool_task_slot_count"): "128",
    ("core", "dag_file_processor_timeout"): "50",
    ("core", "hostname_callable"): "airflow.utils.net.getfqdn",
    ("operators", "default_owner"): "airflow",
    ("operators", "default_queue"): "default",
    ("operators", "default_deferrable"): "False",
    ("scheduler", "catchup_by_default"): "True",
    ("scheduler", "create_cron_data_intervals"): "True",
    ("scheduler", "create_delta_data_intervals"): "True",
    ("scheduler", "dag_dir_list_interval"): "300",
    ("sensors", "default_timeout"): "604800",
    ("webserver", "base_url"): "http://localhost:8080",
    ("api", "base_url"): "http://localhost:8080",
    ("email", "default_email_on_retry"): "True",
    ("email", "default_email_on_failure"): "True",
    ("logging", "base_log_folder"): "",
    ("celery", "worker_concurrency"): "16",
}


class AirflowConfigParser:
    """Read-only configuration with Airflow's defaults, overridable by ``AIRFLOW__SECTION__KEY``."""

    def get(self, section, key, fallback=NOTSET, **kwargs):
        if "fallback" not in kwargs and fallback is NOTSET and "default" in kwargs:
            fallback = kwargs["default"]
        section, key = section.lower(), key.lower()
        env = os.environ.get(f"AIRFLOW__{section.upper()}__{key.upper()}")
        if env is not None:
            return env
        if (section, key) in _DEFAULTS:
            return _DEFAULTS[(section, key)]
        if fallback is not NOTSET:
            return fallback
        raise AirflowConfigException(f"section/key [{section}/{key}] not found in config")

    def getboolean(self, section, key, fallback=NOTSET, **kwargs):
        val = self.get(section, key, fallback=fallback, **kwargs)
        if isinstance(val, bool):
            return val
        if val is None:
            return None
        text = str(val).strip().lower()
        if text in ("t", "true", "1", "yes", "on"):
            return True
        if text in ("f", "false", "0", "no", "off", ""):
            return False
        raise AirflowConfigException(
            f'Failed to convert value to bool. Please check "{key}" key in "{section}" section. '
            f'Current value: "{val}".'
        )

    def getint(self, section, key, fallback=NOTSET, **kwargs):
        val = self.get(section, key, fallback=fallback, **kwargs)
        return int(val) if val not in (None, "") else val

    def getfloat(self, section, key, fallback=NOTSET, **kwargs):
        val = self.get(section, key, fallback=fallback, **kwargs)
        return float(val) if val not in (None, "") else val

    def getlist(self, section, key, delimiter=",", fallback=NOTSET, **kwargs):
        val = self.get(section, key, fallback=fallback, **kwargs)
        return [v.strip() for v in str(val).split(delimiter) if v.strip()] if val else []

    def getjson(self, section, key, fallback=NOTSET, **kwargs):
        val = self.get(section, key, fallback=fallback, **kwargs)
        return json.loads(val) if isinstance(val, str) and val else val

    def has_option(self, section, key, **kwargs):
        section, key = section.lower(), key.lower()
        return (section, key) in _DEFAULTS or f"AIRFLOW__{section.upper()}__{key.upper()}" in os.environ

    def getsection(self, section):
        section = section.lower()
        return {k: self.get(s, k) for (s, k) in _DEFAULTS if s == section}

    def set(self, section, key, value):
        _DEFAULTS[(section.lower(), key.lower())] = str(value)


conf = AirflowConfigParser()
