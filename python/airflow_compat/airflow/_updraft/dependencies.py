"""The ``>>`` / ``<<`` machinery shared by operators, XComArgs, task groups and
edge labels, plus ``chain``, ``chain_linear`` and ``cross_downstream``.
"""
from .exceptions import AirflowException


class DependencyMixin:
    """``a >> b`` sets b downstream of a and returns b; lists work on either side."""

    def set_upstream(self, other, edge_modifier=None):
        raise NotImplementedError

    def set_downstream(self, other, edge_modifier=None):
        raise NotImplementedError

    def __rshift__(self, other):
        self.set_downstream(other)
        return other

    def __lshift__(self, other):
        self.set_upstream(other)
        return other

    def __rrshift__(self, other):
        self.set_upstream(other)
        return self

    def __rlshift__(self, other):
        self.set_downstream(other)
        return self

    def update_relative(self, other, upstream=True, edge_modifier=None):
        """Hook for edge labels; nodes have nothing to record."""


def as_list(obj):
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    return [obj]


def _is_node(x):
    return isinstance(x, DependencyMixin)


def chain(*tasks):
    """Chain tasks in sequence; two adjacent lists must have the same length and pair up."""
    for up, down in zip(tasks, tasks[1:]):
        if _is_node(up):
            up.set_downstream(down)
            continue
        if _is_node(down):
            down.set_upstream(up)
            continue
        if not isinstance(up, (list, tuple)) or not isinstance(down, (list, tuple)):
            raise TypeError(f"Chain not supported between instances of {type(up)} and {type(down)}")
        if len(up) != len(down):
            raise ValueError(
                f"Chain not supported for different length Iterable. Got {len(up)} and {len(down)}."
            )
        for u, d in zip(up, down):
            u.set_downstream(d)


def chain_linear(*elements):
    """Every element of one step connects to every element of the next step."""
    if len(elements) < 2:
        raise ValueError("No dependencies were set. Did you forget to expand with `*`?")
    prev = None
    for el in elements:
        if prev is not None:
            for u in prev:
                u.set_downstream(el)
        prev = as_list(el)


def cross_downstream(from_tasks, to_tasks):
    """Set every task of ``to_tasks`` downstream of every task of ``from_tasks``."""
    for task in from_tasks:
        task.set_downstream(to_tasks)


def check_same_dag(a, b):
    if a is not None and b is not None and a is not b:
        raise AirflowException(
            f"Tried to set relationships between tasks in more than one DAG: {sorted([a.dag_id, b.dag_id])}"
        )
