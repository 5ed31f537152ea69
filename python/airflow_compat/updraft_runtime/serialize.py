"""Serializes DAG objects into exactly the JSON shape of docs/serialized-dag.md.

``serialize_dag(dag, dialect)`` returns plain dicts/lists; ``dumps`` renders
them deterministically (sorted keys, compact separators).
"""
import json
import os

from airflow._updraft.baseoperator import _BASE_ATTRS
from airflow._updraft.compat import tz_name
from airflow._updraft.encode import callable_path, encode, is_plain_encodable, iso, param_dict
from airflow._updraft.enums import TRIGGER_RULE_ALIASES
from airflow._updraft.schedule import encode_schedule
from airflow._updraft.sensors import BaseSensorOperator
from airflow._updraft.taskgroup import TaskGroup

_OVERRIDES = ("execute", "poke", "choose_branch", "execute_complete")
_CLASS_CACHE = {}


def dumps(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def operator_kind(cls):
    for klass in cls.__mro__:
        if klass.__dict__.get("_updraft_builtin"):
            return klass.__dict__.get("_updraft_kind", "custom")
        if any(name in klass.__dict__ for name in _OVERRIDES):
            return "custom"
    return "custom"


def _class_info(cls, dialect):
    key = (cls, dialect)
    info = _CLASS_CACHE.get(key)
    if info is None:
        builtin = bool(cls.__dict__.get("_updraft_builtin"))
        if builtin:
            module = cls._updraft_module_v3 if dialect == "3" else cls._updraft_module_v2
        else:
            module = cls.__module__
        template_fields = list(cls.template_fields) if not isinstance(cls.template_fields, str) else [
            cls.template_fields]
        template_ext = list(cls.template_ext) if not isinstance(cls.template_ext, str) else [cls.template_ext]
        info = {
            "task_type": cls.__name__,
            "operator_module": module,
            "operator_kind": operator_kind(cls),
            "is_custom": not builtin,
            "template_fields": template_fields,
            "template_ext": template_ext,
            "template_fields_renderers": dict(cls.template_fields_renderers or {}),
            "field_names": tuple(dict.fromkeys(list(cls._updraft_arg_names) + template_fields)),
            "python": bool(getattr(cls, "_updraft_python", False)),
            "decorator": getattr(cls, "_updraft_decorator", None),
            "sensor": issubclass(cls, BaseSensorOperator),
            "hidden": cls._updraft_hidden_all,
        }
        _CLASS_CACHE[key] = info
    return info


def _seconds(td):
    return td.total_seconds() if td is not None else None


def _date(dt):
    return iso(dt) if dt is not None else None


def _params(params):
    if not params:
        return {}
    return {str(k): param_dict(params.get_param(k) if hasattr(params, "get_param") else v)
            for k, v in params.items()}


def _fields(task, info):
    d = task.__dict__
    out = {}
    for name in info["field_names"]:
        out[name] = encode(d[name] if name in d else getattr(task, name, None))
    if info["is_custom"]:
        hidden = info["hidden"]
        for name, value in d.items():
            if name in out or name in _BASE_ATTRS or name in hidden or name.startswith("_") or callable(value):
                continue
            if is_plain_encodable(value):
                out[name] = encode(value)
    return out


def _weight_rule(rule):
    if isinstance(rule, str):
        return str(rule)
    cls = type(rule)
    return f"{cls.__module__}.{cls.__qualname__}"


def serialize_task(task, dialect):
    info = _class_info(type(task), dialect)
    d = task.__dict__
    group = d.get("task_group")
    rule = str(task.trigger_rule)
    out = {
        "task_id": task.task_id,
        "task_type": info["task_type"],
        "operator_module": info["operator_module"],
        "operator_kind": info["operator_kind"],
        "is_custom": info["is_custom"],
        "upstream_task_ids": sorted(d["_upstream"]),
        "downstream_task_ids": sorted(d["_downstream"]),
        "task_group": group.group_id if group is not None else None,
        "trigger_rule": TRIGGER_RULE_ALIASES.get(rule, rule),
        "owner": task.owner,
        "retries": encode(task.retries),
        "retry_delay": _seconds(task.retry_delay),
        "retry_exponential_backoff": bool(task.retry_exponential_backoff),
        "max_retry_delay": _seconds(task.max_retry_delay),
        "execution_timeout": _seconds(task.execution_timeout),
        "depends_on_past": bool(task.depends_on_past),
        "ignore_first_depends_on_past": bool(task.ignore_first_depends_on_past),
        "wait_for_past_depends_before_skipping": bool(task.wait_for_past_depends_before_skipping),
        "wait_for_downstream": bool(task.wait_for_downstream),
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "queue": task.queue,
        "priority_weight": task.priority_weight,
        "weight_rule": _weight_rule(task.weight_rule),
        "max_active_tis_per_dag": task.max_active_tis_per_dag,
        "max_active_tis_per_dagrun": task.max_active_tis_per_dagrun,
        "do_xcom_push": bool(task.do_xcom_push),
        "multiple_outputs": bool(task.multiple_outputs),
        "start_date": _date(task.start_date),
        "end_date": _date(task.end_date),
        "email": encode(task.email),
        "email_on_failure": bool(task.email_on_failure),
        "email_on_retry": bool(task.email_on_retry),
        "executor": task.executor,
        "executor_config": encode(task.executor_config),
        "run_as_user": task.run_as_user,
        "params": _params(task.params),
        "doc_md": task.doc_md,
        "task_display_name": task.task_display_name,
        "ui_color": type(task).ui_color,
        "is_setup": bool(task.is_setup),
        "is_teardown": bool(task.is_teardown),
        "on_failure_fail_dagrun": bool(task.on_failure_fail_dagrun),
        "callbacks": {
            "on_execute_callback": bool(task.on_execute_callback),
            "on_success_callback": bool(task.on_success_callback),
            "on_failure_callback": bool(task.on_failure_callback),
            "on_retry_callback": bool(task.on_retry_callback),
            "on_skipped_callback": bool(task.on_skipped_callback),
        },
        "inlets": [encode(x) for x in task.inlets],
        "outlets": [encode(x) for x in task.outlets],
        "template_fields": info["template_fields"],
        "template_ext": info["template_ext"],
        "template_fields_renderers": info["template_fields_renderers"],
        "fields": _fields(task, info),
        "sensor": None,
        "python": None,
        "mapped": None,
    }
    if info["sensor"]:
        out["sensor"] = {
            "poke_interval": task.poke_interval,
            "timeout": task.timeout,
            "mode": task.mode,
            "soft_fail": bool(task.soft_fail),
            "exponential_backoff": bool(task.exponential_backoff),
            "max_wait": task.max_wait,
            "silent_fail": bool(task.silent_fail),
            "never_fail": bool(task.never_fail),
            "deferrable": bool(getattr(task, "deferrable", False)),
        }
    if info["python"]:
        fn = getattr(task, "python_callable", None)
        out["python"] = {
            "callable": callable_path(fn) if fn is not None else None,
            "op_args": encode(getattr(task, "op_args", [])),
            "op_kwargs": encode(getattr(task, "op_kwargs", {})),
            "templates_dict": encode(getattr(task, "templates_dict", None)),
            "decorator": info["decorator"],
        }
    mapped = d.get("mapped")
    if mapped is not None:
        out["mapped"] = {
            "expand": encode(mapped["expand"]),
            "expand_kwargs": encode(mapped["expand_kwargs"]),
            "partial": encode(mapped["partial"]),
        }
    return out


def _group_mapped(group):
    """A mapped task group's expansion, in a task's ``mapped`` shape."""
    if not group.is_mapped:
        return None
    expand_input = getattr(group, "expand_input", None)
    if isinstance(expand_input, dict):
        return {"expand": encode(expand_input), "expand_kwargs": None, "partial": {}}
    return {"expand": None, "expand_kwargs": encode(expand_input), "partial": {}}


def _task_groups(dag):
    out = []
    for group in dag.task_group.iter_groups():
        parent = group.parent_group
        out.append({
            "group_id": group.group_id,
            "parent_group_id": parent.group_id if parent is not None and not parent.is_root else None,
            "prefix_group_id": bool(group.prefix_group_id),
            "tooltip": group.tooltip or "",
            "ui_color": group.ui_color,
            "children": sorted(c.group_id if isinstance(c, TaskGroup) else c.task_id
                               for c in group.children.values()),
            "is_mapped": bool(group.is_mapped),
            "mapped": _group_mapped(group),
        })
    out.sort(key=lambda g: g["group_id"])
    return out


def _edge_labels(dag):
    out = []
    for up, downs in dag.edge_info.items():
        for down, info in downs.items():
            if info.get("label") is not None:
                out.append({"from": up, "to": down, "label": str(info["label"])})
    out.sort(key=lambda e: (e["from"], e["to"]))
    return out


def _doc_md(dag):
    doc = dag.doc_md
    if isinstance(doc, str) and doc.endswith(".md") and "\n" not in doc:
        for folder in [os.path.dirname(dag.fileloc or "")] + list(dag.template_searchpath):
            path = os.path.join(folder, doc)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    return f.read()
    return doc


def _names(mapping):
    return sorted(str(k) for k in mapping) if mapping else []


def serialize_dag(dag, dialect):
    tasks = [serialize_task(dag.task_dict[tid], dialect) for tid in sorted(dag.task_dict)]
    return {
        "dag_id": dag.dag_id,
        "fileloc": dag.fileloc,
        "description": dag.description,
        "dag_display_name": dag.dag_display_name,
        "schedule": encode_schedule(dag.schedule, dag.timezone),
        "timezone": tz_name(dag.timezone),
        "start_date": _date(dag.start_date),
        "end_date": _date(dag.end_date),
        "catchup": bool(dag.catchup) if dag.catchup is not None else None,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "max_consecutive_failed_dag_runs": dag.max_consecutive_failed_dag_runs,
        "dagrun_timeout": _seconds(dag.dagrun_timeout),
        "fail_fast": bool(dag.fail_fast),
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "tags": sorted({str(t) for t in dag.tags}),
        "owner": dag.owner,
        "owner_links": encode(dag.owner_links),
        "doc_md": _doc_md(dag),
        "params": _params(dag.params),
        "default_args": encode(dag.default_args),
        "render_template_as_native_obj": bool(dag.render_template_as_native_obj),
        "template_searchpath": [str(p) for p in dag.template_searchpath],
        "user_defined_macros": _names(dag.user_defined_macros),
        "user_defined_filters": _names(dag.user_defined_filters),
        # The macros' values for the native renderer (a function encodes as
        # a callable, which the renderer reports as unsupported when used).
        "user_defined_macro_values": encode({str(k): v for k, v in (dag.user_defined_macros or {}).items()}),
        "access_control": encode(dag.access_control),
        "callbacks": {
            "on_success_callback": bool(dag.on_success_callback),
            "on_failure_callback": bool(dag.on_failure_callback),
            "sla_miss_callback": bool(dag.sla_miss_callback),
        },
        "dialect": dialect,
        "task_groups": _task_groups(dag),
        "edge_labels": _edge_labels(dag),
        "tasks": tasks,
    }
