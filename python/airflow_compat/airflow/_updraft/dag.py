"""The ``DAG`` class: context manager, task registry, schedule and defaults.

It accepts every argument of Airflow 2.10's and 3.1's ``DAG`` (an unknown
keyword is a ``TypeError``, as in 3.x) and keeps the values as given; the
serializer turns them into the contract of ``docs/serialized-dag.md``.
"""
import copy
import re

from . import context as ctx
from .compat import NOTSET, UTC, as_timedelta, coerce_datetime
from .exceptions import AirflowDagCycleException, AirflowException, DuplicateTaskIdFound
from .params import DagParam, merge_params
from .taskgroup import TaskGroup

_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
TAG_MAX_LEN = 100


def validate_key(k, max_length=250):
    if not isinstance(k, str):
        raise TypeError(f"The key has to be a string and is {type(k)}:{k}")
    if len(k) > max_length:
        raise AirflowException(f"The key has to be less than {max_length} characters")
    if not _KEY.match(k):
        raise AirflowException(
            f"The key {k!r} has to be made of alphanumeric characters, dashes, dots and underscores exclusively"
        )


class DAG:
    """A directed acyclic graph of tasks (Airflow 2.x and 3.x constructor)."""

    def __init__(
        self,
        dag_id,
        description=None,
        schedule=NOTSET,
        schedule_interval=NOTSET,
        timetable=None,
        start_date=None,
        end_date=None,
        full_filepath=None,
        template_searchpath=None,
        template_undefined=None,
        user_defined_macros=None,
        user_defined_filters=None,
        default_args=None,
        concurrency=None,
        max_active_tasks=None,
        max_active_runs=None,
        max_consecutive_failed_dag_runs=None,
        dagrun_timeout=None,
        sla_miss_callback=None,
        default_view=None,
        orientation=None,
        catchup=None,
        on_success_callback=None,
        on_failure_callback=None,
        doc_md=None,
        params=None,
        access_control=None,
        is_paused_upon_creation=None,
        jinja_environment_kwargs=None,
        render_template_as_native_obj=False,
        tags=None,
        owner_links=None,
        auto_register=True,
        fail_stop=False,
        fail_fast=False,
        dag_display_name=None,
        deadline=None,
        disable_bundle_versioning=False,
        bundle_name=None,
        bundle_version=None,
    ):
        validate_key(dag_id)
        self._dag_id = dag_id
        self.description = description
        if schedule is not NOTSET and (schedule_interval is not NOTSET or timetable is not None):
            raise ValueError("At most one allowed for args 'schedule_interval', 'timetable', and 'schedule'.")
        if schedule_interval is not NOTSET and timetable is not None:
            raise ValueError("At most one allowed for args 'schedule_interval', 'timetable', and 'schedule'.")
        if schedule_interval is not NOTSET:
            raw = schedule_interval
        elif timetable is not None:
            raw = timetable
        else:
            raw = schedule
        self.schedule = raw
        self.default_args = dict(default_args or {})
        if start_date is None:
            start_date = self.default_args.get("start_date")
        if end_date is None:
            end_date = self.default_args.get("end_date")
        self.start_date = coerce_datetime(start_date, "start_date")
        self.end_date = coerce_datetime(end_date, "end_date")
        tz = self.start_date.tzinfo if self.start_date is not None else None
        self.timezone = tz or UTC
        self.fileloc = full_filepath
        self.template_searchpath = [template_searchpath] if isinstance(template_searchpath, str) else list(
            template_searchpath or [])
        self.template_undefined = template_undefined
        self.user_defined_macros = user_defined_macros
        self.user_defined_filters = user_defined_filters
        self.max_active_tasks = max_active_tasks if max_active_tasks is not None else concurrency
        self.max_active_runs = max_active_runs
        self.max_consecutive_failed_dag_runs = max_consecutive_failed_dag_runs
        self.dagrun_timeout = as_timedelta(dagrun_timeout, "dagrun_timeout")
        self.sla_miss_callback = sla_miss_callback
        self.default_view = default_view
        self.orientation = orientation
        self.catchup = catchup
        self.on_success_callback = on_success_callback
        self.on_failure_callback = on_failure_callback
        self.doc_md = doc_md
        self.params = merge_params(self.default_args.get("params"), params)
        self.access_control = access_control
        self.is_paused_upon_creation = is_paused_upon_creation
        self.jinja_environment_kwargs = jinja_environment_kwargs
        self.render_template_as_native_obj = render_template_as_native_obj
        if tags and any(len(t) > TAG_MAX_LEN for t in tags):
            raise AirflowException(f"tag cannot be longer than {TAG_MAX_LEN} characters")
        self.tags = list(tags or [])
        self.owner_links = dict(owner_links or {})
        self.auto_register = auto_register
        self.fail_fast = bool(fail_fast or fail_stop)
        self.dag_display_name = dag_display_name
        self.deadline = deadline
        self.disable_bundle_versioning = disable_bundle_versioning
        self.task_dict = {}
        self.edge_info = {}
        self.task_group = TaskGroup.create_root(self)
        self.partial = False
        self._updraft_created_at = _caller_location()
        ctx.STATE.created_dags.append(self)

    # identity -------------------------------------------------------------
    @property
    def dag_id(self):
        return self._dag_id

    @dag_id.setter
    def dag_id(self, value):
        self._dag_id = value

    def __repr__(self):
        return f"<DAG: {self.dag_id}>"

    def __hash__(self):
        return id(self)

    @property
    def filepath(self):
        return self.fileloc

    @property
    def folder(self):
        import os

        return os.path.dirname(self.fileloc) if self.fileloc else None

    @property
    def fail_stop(self):
        return self.fail_fast

    @property
    def concurrency(self):
        return self.max_active_tasks

    @property
    def schedule_interval(self):
        return self.schedule

    @property
    def timetable(self):
        from .schedule import to_timetable

        return to_timetable(self.schedule, self.timezone)

    @property
    def owner(self):
        if self.default_args.get("owner"):
            return str(self.default_args["owner"])
        owners = sorted({t.owner for t in self.task_dict.values() if t.owner})
        if owners:
            return ", ".join(owners)
        return "airflow"

    # context manager --------------------------------------------------------
    def __enter__(self):
        ctx.STATE.dag_stack.append(self)
        return self

    def __exit__(self, *exc):
        stack = ctx.STATE.dag_stack
        if stack and stack[-1] is self:
            stack.pop()
        if self.auto_register:
            ctx.STATE.autoregistered.append(self)

    # tasks ------------------------------------------------------------------
    @property
    def tasks(self):
        return list(self.task_dict.values())

    @property
    def task_ids(self):
        return list(self.task_dict)

    @property
    def task_count(self):
        return len(self.task_dict)

    def has_task(self, task_id):
        return task_id in self.task_dict

    def get_task(self, task_id):
        if task_id in self.task_dict:
            return self.task_dict[task_id]
        from .exceptions import TaskNotFound

        raise TaskNotFound(f"Task {task_id} not found")

    def add_task(self, task):
        task_id = task.task_id
        existing = self.task_dict.get(task_id)
        if existing is not None and existing is not task:
            raise DuplicateTaskIdFound(f"Task id '{task_id}' has already been added to the DAG")
        if self.fail_fast and str(task.trigger_rule) not in ("all_success", "all_done_setup_success"):
            from .exceptions import FailStopDagInvalidTriggerRule

            raise FailStopDagInvalidTriggerRule(
                f"A 'fail_fast' dag can only have all_success trigger rule; task {task_id!r} has {task.trigger_rule!r}"
            )
        self.task_dict[task_id] = task
        task.__dict__["dag"] = self
        self.task_group.used_group_ids.add(task_id)

    def add_tasks(self, tasks):
        for t in tasks:
            self.add_task(t)

    @property
    def roots(self):
        return [t for t in self.task_dict.values() if not t.upstream_task_ids]

    @property
    def leaves(self):
        return [t for t in self.task_dict.values() if not t.downstream_task_ids]

    def set_edge_info(self, upstream_task_id, downstream_task_id, info):
        self.edge_info.setdefault(upstream_task_id, {})[downstream_task_id] = info

    def get_edge_info(self, upstream_task_id, downstream_task_id):
        return self.edge_info.get(upstream_task_id, {}).get(downstream_task_id, {})

    def param(self, name, default=NOTSET):
        return DagParam(current_dag=self, name=name, default=default)

    def get_doc_md(self, doc_md):
        return doc_md

    # validation -------------------------------------------------------------
    def find_cycle(self):
        """Return the task ids of one cycle (first id repeated at the end), or None."""
        white, grey, black = 0, 1, 2
        color = dict.fromkeys(self.task_dict, white)
        for start in sorted(self.task_dict):
            if color[start] != white:
                continue
            path = [start]
            iters = [iter(sorted(self.task_dict[start].downstream_task_ids))]
            color[start] = grey
            while iters:
                nxt = next(iters[-1], None)
                if nxt is None:
                    color[path.pop()] = black
                    iters.pop()
                    continue
                state = color.get(nxt, black)
                if state == grey:
                    return path[path.index(nxt):] + [nxt]
                if state == white:
                    color[nxt] = grey
                    path.append(nxt)
                    iters.append(iter(sorted(self.task_dict[nxt].downstream_task_ids)))
        return None

    def check_cycle(self):
        cycle = self.find_cycle()
        if cycle:
            raise AirflowDagCycleException(
                f"Cycle detected in DAG '{self.dag_id}': {' -> '.join(cycle)}"
            )

    def validate(self):
        self.check_cycle()

    def topological_sort(self):
        return sorted(self.task_dict.values(), key=lambda t: t.task_id)

    def test(self, *args, **kwargs):
        raise NotImplementedError("dag.test() is not available inside Updraft; use `updraft dags test`")

    def cli(self):
        raise NotImplementedError("dag.cli() is not available inside Updraft; use the `updraft` CLI")

    def __deepcopy__(self, memo):
        return self  # DAGs are identities; Airflow users never expect a real copy

    def partial_subset(self, *args, **kwargs):
        raise NotImplementedError("partial_subset is not available while parsing")

    def copy(self):
        return copy.copy(self)


_PKG_DIR = __file__.rsplit("/", 2)[0]


def _caller_location():
    """(filename, line) of the first frame outside the compatibility package."""
    import sys

    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(_PKG_DIR) and not name.startswith("<frozen"):
            return name, frame.f_lineno
        frame = frame.f_back
    return None, None


DAG.__module__ = "airflow.models.dag"
