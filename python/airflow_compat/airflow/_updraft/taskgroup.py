"""``TaskGroup``: groups tasks under a ``group_id.`` prefix, nestable, usable
with ``with`` and as one node in ``>>`` (leaves upstream, roots downstream).
"""
import re

from . import context as ctx
from .dependencies import DependencyMixin, as_list
from .exceptions import AirflowException, DuplicateTaskIdFound

_GROUP_KEY = re.compile(r"^[\w-]+$")


def validate_group_key(k, max_length=200):
    if not isinstance(k, str):
        raise TypeError(f"The key has to be a string and is {type(k)}:{k}")
    if len(k) > max_length:
        raise AirflowException(f"The key has to be less than {max_length} characters")
    if not _GROUP_KEY.match(k):
        raise AirflowException(
            f"The key {k!r} has to be made of alphanumeric characters, dashes and underscores exclusively"
        )


class TaskGroup(DependencyMixin):
    """A group of tasks (and nested groups) shown as one box in the UI."""

    is_mapped = False

    def __init__(self, group_id=None, prefix_group_id=True, parent_group=None, dag=None, default_args=None,
                 tooltip="", ui_color="CornflowerBlue", ui_fgcolor="#000", add_suffix_on_collision=False,
                 group_display_name="", _root=False):
        self.prefix_group_id = prefix_group_id
        self.default_args = dict(default_args or {})
        self.tooltip = tooltip
        self.ui_color = ui_color
        self.ui_fgcolor = ui_fgcolor
        self.group_display_name = group_display_name
        self.children = {}
        self.upstream_group_ids = set()
        self.downstream_group_ids = set()
        self.upstream_task_ids = set()
        self.downstream_task_ids = set()
        if _root:
            self._group_id = None
            self._parent_group = None
            self.dag = dag
            self.used_group_ids = set()
            return
        if group_id is None:
            raise ValueError("group_id must not be empty")
        validate_group_key(group_id)
        dag = dag or (parent_group.dag if parent_group else None) or ctx.current_dag()
        parent_group = parent_group or ctx.current_task_group(dag)
        if parent_group is None:
            raise AirflowException("TaskGroup can only be used inside a dag")
        self.dag = dag or parent_group.dag
        self._parent_group = parent_group
        self._group_id = group_id
        self.used_group_ids = parent_group.used_group_ids
        if self.group_id in self.used_group_ids:
            if not add_suffix_on_collision:
                raise DuplicateTaskIdFound(f"group_id '{self._group_id}' has already been added to the DAG")
            base = self._group_id
            n = 1
            while self.group_id in self.used_group_ids:
                self._group_id = f"{base}__{n}"
                n += 1
        self.used_group_ids.add(self.group_id)
        parent_group.add(self)

    @classmethod
    def create_root(cls, dag):
        return cls(dag=dag, _root=True)

    @property
    def is_root(self):
        return self._group_id is None

    @property
    def parent_group(self):
        return self._parent_group

    @property
    def group_id(self):
        parent = self._parent_group
        if parent is not None and parent.prefix_group_id and parent._group_id:
            return parent.child_id(self._group_id)
        return self._group_id

    node_id = group_id

    @property
    def label(self):
        return self.group_display_name or self._group_id

    def child_id(self, label):
        if self.prefix_group_id:
            group_id = self.group_id
            if group_id:
                return f"{group_id}.{label}"
        return label

    def add(self, node):
        key = node.node_id
        if key in self.children:
            kind = "Task" if hasattr(node, "task_id") else "Task Group"
            raise DuplicateTaskIdFound(f"{kind} id '{key}' has already been added to the DAG")
        self.children[key] = node
        return node

    def __iter__(self):
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child
            else:
                yield child

    def iter_groups(self):
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield child
                yield from child.iter_groups()

    def __enter__(self):
        ctx.STATE.group_stack.append(self)
        return self

    def __exit__(self, *exc):
        stack = ctx.STATE.group_stack
        if stack and stack[-1] is self:
            stack.pop()

    def get_roots(self):
        tasks = list(self)
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if t.upstream_task_ids.isdisjoint(ids)]

    def get_leaves(self):
        tasks = list(self)
        ids = {t.task_id for t in tasks}

        def has_non_teardown_downstream(task, exclude):
            for down in task.downstream_list:
                if down.task_id != exclude and down.task_id in ids and not down.is_teardown:
                    return True
            return False

        def first_non_teardown(task):
            for up in task.upstream_list:
                if up.task_id not in ids:
                    continue
                if up.is_teardown:
                    yield from first_non_teardown(up)
                elif task.is_teardown and up.is_setup:
                    continue
                elif not has_non_teardown_downstream(up, exclude=task.task_id):
                    yield up

        out = []
        for task in tasks:
            if task.downstream_task_ids.isdisjoint(ids):
                if not task.is_teardown:
                    out.append(task)
                else:
                    out.extend(first_non_teardown(task))
        return out

    @property
    def roots(self):
        return self.get_roots()

    @property
    def leaves(self):
        return self.get_leaves()

    def _relate(self, other, upstream, edge_modifier):
        others = as_list(other)
        for item in others:
            if isinstance(item, TaskGroup):
                (self.upstream_group_ids if upstream else self.downstream_group_ids).add(item.group_id)
        if upstream:
            for task in self.get_roots():
                task.set_upstream(others, edge_modifier=edge_modifier)
        else:
            for task in self.get_leaves():
                task.set_downstream(others, edge_modifier=edge_modifier)

    def set_upstream(self, other, edge_modifier=None):
        self._relate(other, True, edge_modifier)

    def set_downstream(self, other, edge_modifier=None):
        self._relate(other, False, edge_modifier)

    def __repr__(self):
        return f"<TaskGroup: {self.group_id}>"

    def get_task_group_dict(self):
        return {g.group_id: g for g in [self, *self.iter_groups()]}

    def topological_sort(self):
        return list(self.children.values())


class MappedTaskGroup(TaskGroup):
    """A task group created by ``@task_group(...).expand(...)``."""

    is_mapped = True

    def __init__(self, *args, expand_input=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.expand_input = expand_input


TaskGroup.__module__ = MappedTaskGroup.__module__ = "airflow.utils.task_group"
