#!/usr/bin/env python3
"""Load ONE DAG file with real Apache Airflow and print its structure as normalized JSON.

Run it with the Python of a virtualenv that has Apache Airflow installed (see
``regenerate.sh`` / ``README.md`` beside this file), NOT with Updraft's runtime:

    /work/airflow-venvs/af210/bin/python scripts/golden/airflow_structure.py dags/example_basic_v2.py
    /work/airflow-venvs/af31/bin/python  scripts/golden/airflow_structure.py dags/example_basic_v3.py -o out.json

The file is loaded exactly the way Airflow's DAG processor loads it:
``DagBag(dag_folder=<file>, include_examples=False)`` (safe mode on, so the file must
contain the words "airflow" and "dag"), with the file's folder on ``sys.path`` and set
as ``[core] dags_folder`` so helper modules beside it import like they do in a
deployment.

Output (keys marked * are the contract used by Updraft's golden tests; the others are
extra detail that is cheap to record and useful when debugging a mismatch):

{
  "file": "<basename>"*, "airflow_version": "x.y.z"*, "versions": {...},
  "dags": {"<dag_id>": {
      "schedule"*: 2.x: str(dag.schedule_interval) / timedelta seconds / null;
                   3.x: dag.timetable.summary / null for NullTimetable,
      "catchup"*, "max_active_runs"*, "tags"* (sorted), "params"* {name: default},
      "timetable", "timetable_summary", "description", "start_date", "owner",
      "task_groups": {group_id: {...}}, "edge_labels": [...],
      "tasks"*: {"<task_id>": {"task_type"*, "upstream_task_ids"*, "downstream_task_ids"*,
                 "trigger_rule"*, "retries"*, "retry_delay"* (s), "pool"*, "queue"*,
                 "priority_weight"* (raw attribute), "task_group"* (null = root),
                 "template_fields"* (class order), "is_setup"*, "is_teardown"*,
                 ... extras: operator_module, is_mapped, weight_rule, depends_on_past, ...}}}},
  "import_errors"*: {"<basename>": "<message, paths normalized>"}
}
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import io
import json
import os
import platform
import re
import sys
import tempfile
import warnings


def _prepare_env(dag_file: str) -> None:
    """Configure Airflow through env vars BEFORE it is imported."""
    if not os.environ.get("AIRFLOW_HOME"):
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-golden-")
    home = os.environ["AIRFLOW_HOME"]
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", os.path.dirname(os.path.abspath(dag_file)))
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
    # A sqlite DB path inside the temp home; DagBag parsing itself does not query it.
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    # The DAG folder (bundle root) is on sys.path in a real deployment.
    folder = os.path.dirname(os.path.abspath(dag_file))
    if folder not in sys.path:
        sys.path.insert(0, folder)


def _jsonable(value):
    """Plain JSON for param defaults and similar values."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=repr)
    return repr(value)


def _seconds(value):
    if value is None:
        return None
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    return float(value)


def _enum_str(value):
    if value is None:
        return None
    # str-based enums (TriggerRule, WeightRule) format as "TriggerRule.X" under str(): use .value
    return str(getattr(value, "value", value))


def _weight_rule(task):
    rule = getattr(task, "weight_rule", None)
    if rule is None or isinstance(rule, str):
        return _enum_str(rule)
    # 2.10 stores a PriorityWeightStrategy object; map the built-in ones back to their names.
    try:
        from airflow.task.priority_strategy import airflow_priority_weight_strategies

        for name, cls in airflow_priority_weight_strategies.items():
            if type(rule) is cls:
                return name
    except Exception:  # pragma: no cover - version dependent
        pass
    return _enum_str(rule) if hasattr(rule, "value") else type(rule).__name__


def _schedule(dag, major: int):
    from airflow.timetables.simple import NullTimetable

    timetable = getattr(dag, "timetable", None)
    if isinstance(timetable, NullTimetable):
        return None
    if major < 3:
        interval = dag.schedule_interval
        if interval is None:
            return None
        if isinstance(interval, str):
            return interval
        if isinstance(interval, _dt.timedelta):
            return interval.total_seconds()
        try:
            from dateutil.relativedelta import relativedelta

            if isinstance(interval, relativedelta):
                return repr(interval)
        except Exception:  # pragma: no cover
            pass
        return timetable.summary
    return timetable.summary


def _tz_name(tz):
    if tz is None:
        return None
    return getattr(tz, "name", None) or str(tz)


def _asset_condition(cond):
    """Dataset/Asset condition tree: {"uri": ...} | {"all": [...]} | {"any": [...]}."""
    name = type(cond).__name__
    if cond is None or name.startswith("_Null"):
        return None
    if name in ("DatasetAll", "AssetAll"):
        return {"all": [_asset_condition(c) for c in cond.objects]}
    if name in ("DatasetAny", "AssetAny"):
        return {"any": [_asset_condition(c) for c in cond.objects]}
    uri = getattr(cond, "uri", None)
    if uri is not None:
        out = {"uri": uri}
        if getattr(cond, "name", None) not in (None, uri):
            out["name"] = cond.name
        return out
    return {"repr": repr(cond)}


def _dag_assets(dag):
    timetable = getattr(dag, "timetable", None)
    cond = getattr(timetable, "asset_condition", None) or getattr(timetable, "dataset_condition", None)
    return _asset_condition(cond)


def _outlets(task):
    out = []
    for item in getattr(task, "outlets", None) or []:
        uri = getattr(item, "uri", None)
        out.append(uri if uri is not None else repr(item))
    return out


def _params(params) -> dict:
    out = {}
    if params is None:
        return out
    for key in sorted(params.keys()):
        try:
            param = params.get_param(key)
            value = param.value
        except Exception:
            value = params[key]
        if type(value).__name__ == "ArgNotSet":
            value = None
        out[key] = _jsonable(value)
    return out


def _sensor(task):
    if not any(c.__name__ == "BaseSensorOperator" for c in type(task).__mro__):
        return None
    return {
        "poke_interval": _seconds(getattr(task, "poke_interval", None)),
        "timeout": _seconds(getattr(task, "timeout", None)),
        "mode": getattr(task, "mode", None),
        "soft_fail": bool(getattr(task, "soft_fail", False)),
        "exponential_backoff": bool(getattr(task, "exponential_backoff", False)),
        "deferrable": bool(getattr(task, "deferrable", False)),
    }


def _module_name(module):
    """Airflow imports a DAG file as module "unusual_prefix_<sha1 of its absolute path>_<stem>":
    keep the shape, drop the path-dependent hash so goldens do not depend on the checkout path."""
    if module is None:
        return None
    return re.sub(r"^unusual_prefix_[0-9a-f]{40}_", "unusual_prefix_<sha1>_", module)


def _hitl(task):
    if not any(c.__name__ == "HITLOperator" for c in type(task).__mro__):
        return None
    return {
        "options": list(getattr(task, "options", []) or []),
        "defaults": _jsonable(getattr(task, "defaults", None)),
        "multiple": bool(getattr(task, "multiple", False)),
        "params": _params(getattr(task, "params", None)) if hasattr(getattr(task, "params", None), "get_param") else {},
        "options_mapping": _jsonable(getattr(task, "options_mapping", None)),
        "response_timeout": _seconds(getattr(task, "response_timeout", None)),
    }


_SET_ORDERED_TEMPLATE_FIELDS = {"PythonVirtualenvOperator", "ExternalPythonOperator"}


def _task_record(task, root_group_id=None) -> dict:
    group = getattr(task, "task_group", None)
    group_id = getattr(group, "group_id", None) if group is not None else None
    if group_id == root_group_id:
        group_id = None
    task_cls = getattr(task, "operator_class", None)
    if task_cls is None or isinstance(task_cls, dict):
        task_cls = type(task)
    return {
        # ---- contract fields ----
        "task_type": task.task_type,
        "upstream_task_ids": sorted(task.upstream_task_ids),
        "downstream_task_ids": sorted(task.downstream_task_ids),
        "trigger_rule": _enum_str(task.trigger_rule),
        "retries": task.retries,
        "retry_delay": _seconds(task.retry_delay),
        "pool": task.pool,
        "queue": task.queue,
        "priority_weight": task.priority_weight,
        "task_group": group_id,
        "template_fields": list(task.template_fields),
        "is_setup": bool(task.is_setup),
        "is_teardown": bool(task.is_teardown),
        # ---- extras ----
        "operator_module": _module_name(getattr(task_cls, "__module__", None)),
        "is_mapped": any(c.__name__ == "MappedOperator" for c in type(task).__mro__),
        "owner": getattr(task, "owner", None),
        "weight_rule": _weight_rule(task),
        "pool_slots": getattr(task, "pool_slots", None),
        "depends_on_past": bool(getattr(task, "depends_on_past", False)),
        "wait_for_downstream": bool(getattr(task, "wait_for_downstream", False)),
        "retry_exponential_backoff": bool(getattr(task, "retry_exponential_backoff", False)),
        "max_retry_delay": _seconds(getattr(task, "max_retry_delay", None)),
        "execution_timeout": _seconds(getattr(task, "execution_timeout", None)),
        "max_active_tis_per_dag": getattr(task, "max_active_tis_per_dag", None),
        "max_active_tis_per_dagrun": getattr(task, "max_active_tis_per_dagrun", None),
        "template_ext": list(getattr(task, "template_ext", ()) or ()),
        "multiple_outputs": bool(getattr(task, "multiple_outputs", False)),
        "outlets": _outlets(task),
        "sensor": _sensor(task),
        "hitl": _hitl(task),
        # True when Airflow builds template_fields from a set: compare them as a set.
        "template_fields_unordered": any(
            c.__name__ in _SET_ORDERED_TEMPLATE_FIELDS for c in getattr(task_cls, "__mro__", ())
        ),
    }


def _task_groups(dag) -> dict:
    out = {}
    root = dag.task_group
    for group_id, group in sorted(
        ((k, v) for k, v in root.get_task_group_dict().items() if k is not None), key=lambda kv: kv[0]
    ):
        parent = getattr(group, "parent_group", None)
        parent_id = getattr(parent, "group_id", None) if parent is not None else None
        out[group_id] = {
            "parent_group_id": parent_id,
            "prefix_group_id": bool(getattr(group, "prefix_group_id", True)),
            "children": sorted(group.children.keys()),
            "is_mapped": type(group).__name__ == "MappedTaskGroup",
            "upstream_group_ids": sorted(getattr(group, "upstream_group_ids", ()) or ()),
            "upstream_task_ids": sorted(getattr(group, "upstream_task_ids", ()) or ()),
            "downstream_group_ids": sorted(getattr(group, "downstream_group_ids", ()) or ()),
            "downstream_task_ids": sorted(getattr(group, "downstream_task_ids", ()) or ()),
        }
    return out


def _edge_labels(dag) -> list:
    labels = []
    for up, downs in (getattr(dag, "edge_info", None) or {}).items():
        for down, info in downs.items():
            if info and info.get("label") is not None:
                labels.append({"from": up, "to": down, "label": info["label"]})
    return sorted(labels, key=lambda e: (e["from"], e["to"]))


def _versions() -> dict:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in (
        "apache-airflow",
        "apache-airflow-core",
        "apache-airflow-task-sdk",
        "apache-airflow-providers-standard",
        "apache-airflow-providers-apache-kafka",
        "apache-airflow-providers-common-compat",
        "confluent-kafka",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _normalize_message(message: str, dag_file: str) -> str:
    folder = os.path.dirname(os.path.abspath(dag_file))
    message = message.replace(folder + os.sep, "<dags>/").replace(folder, "<dags>")
    for prefix in sorted({p for p in sys.path if p and os.path.isabs(p)}, key=len, reverse=True):
        if "site-packages" in prefix:
            message = message.replace(prefix + os.sep, "<site-packages>/")
    return message


def structure(dag_file: str) -> dict:
    dag_file = os.path.abspath(dag_file)
    _prepare_env(dag_file)
    warnings.simplefilter("ignore")
    # DAG files may print at import: keep stdout clean for the JSON.
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        import airflow

        try:
            from airflow.models.dagbag import DagBag
        except ImportError:  # pragma: no cover - newer layouts
            from airflow.dag_processing.dagbag import DagBag

        major = int(airflow.__version__.split(".")[0])
        bag = DagBag(dag_folder=dag_file, include_examples=False)
    sys.stderr.write(captured.getvalue())

    dags = {}
    for dag_id in sorted(bag.dags):
        dag = bag.dags[dag_id]
        root_group_id = dag.task_group.group_id
        timetable = getattr(dag, "timetable", None)
        start = getattr(dag, "start_date", None)
        dags[dag_id] = {
            "schedule": _schedule(dag, major),
            "catchup": bool(dag.catchup),
            "max_active_runs": dag.max_active_runs,
            "tags": sorted(dag.tags or []),
            "params": _params(dag.params),
            # extras
            "timetable": type(timetable).__name__ if timetable is not None else None,
            "timetable_summary": getattr(timetable, "summary", None),
            "timetable_timezone": _tz_name(getattr(timetable, "_timezone", None)),
            "schedule_assets": _dag_assets(dag),
            "description": dag.description,
            "start_date": start.isoformat() if start is not None else None,
            "owner": getattr(dag, "owner", None),
            "max_active_tasks": getattr(dag, "max_active_tasks", None),
            "task_groups": _task_groups(dag),
            "edge_labels": _edge_labels(dag),
            "tasks": {
                task_id: _task_record(dag.task_dict[task_id], root_group_id) for task_id in sorted(dag.task_dict)
            },
        }
    errors = {
        os.path.basename(path): _normalize_message(str(msg), dag_file)
        for path, msg in sorted(bag.import_errors.items())
    }
    return {
        "file": os.path.basename(dag_file),
        "airflow_version": airflow.__version__,
        "versions": _versions(),
        "dags": dags,
        "import_errors": errors,
    }


def main(argv=None) -> int:
    # Some Airflow classes build template_fields from a set (PythonVirtualenvOperator,
    # ExternalPythonOperator and their decorators), so their order depends on string-hash
    # randomization. Re-exec with a fixed seed so goldens are reproducible.
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dag_file")
    parser.add_argument("-o", "--output", help="write the JSON here instead of stdout")
    args = parser.parse_args(argv)
    result = structure(args.dag_file)
    text = json.dumps(result, indent=2, sort_keys=True) + "\n"
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
