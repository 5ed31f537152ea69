"""``XComArg``: a reference to another task's XCom (``t.output``, TaskFlow results).

Passing one as an operator argument adds the upstream edge; at run time the
worker replaces it with the pulled value.
"""
from .dependencies import DependencyMixin, as_list


class XComArg(DependencyMixin):
    """The XCom ``key`` (default ``return_value``) pushed by ``operator``."""

    def __init__(self, operator, key="return_value"):
        self.operator = operator
        self.key = key
        self.map_fn = None

    @staticmethod
    def iter_xcom_references(arg):
        """Yield every XComArg found inside nested lists, tuples, sets and dicts."""
        stack = [arg]
        while stack:
            v = stack.pop()
            if isinstance(v, XComArg):
                yield v
            elif isinstance(v, (list, tuple, set, frozenset)):
                stack.extend(v)
            elif isinstance(v, dict):
                stack.extend(v.values())

    def __getitem__(self, key):
        return XComArg(self.operator, key)

    def __iter__(self):
        raise TypeError("'XComArg' object is not iterable")

    def __eq__(self, other):
        return isinstance(other, XComArg) and (self.operator, self.key) == (other.operator, other.key)

    def __hash__(self):
        return hash((id(self.operator), self.key))

    def __str__(self):
        return (
            "{{ task_instance.xcom_pull(task_ids='%s', dag_id='%s', key='%s') }}"
            % (self.operator.task_id, self.operator.dag_id, self.key)
        )

    def __repr__(self):
        return f"XComArg({self.operator!r}, {self.key!r})"

    @property
    def roots(self):
        return [self.operator]

    @property
    def leaves(self):
        return [self.operator]

    def set_upstream(self, other, edge_modifier=None):
        self.operator.set_upstream(other, edge_modifier=edge_modifier)

    def set_downstream(self, other, edge_modifier=None):
        self.operator.set_downstream(other, edge_modifier=edge_modifier)

    def map(self, f):
        out = XComArg(self.operator, self.key)
        out.map_fn = f
        return out

    def zip(self, *others, fillvalue=None):
        return self

    def concat(self, *others):
        return self

    # setup / teardown
    def as_setup(self):
        self.operator.as_setup()
        return self

    def as_teardown(self, *, setups=None, on_failure_fail_dagrun=None):
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __enter__(self):
        return self.operator.__enter__()

    def __exit__(self, *exc):
        return self.operator.__exit__(*exc)

    def resolve(self, context=None):
        raise RuntimeError("XComArg values are only available when the task runs")


PlainXComArg = XComArg


def node_tasks(obj, upstream_side):
    """The operators a node stands for on one side of an edge."""
    out = []
    for item in as_list(obj):
        if isinstance(item, XComArg):
            out.append(item.operator)
        elif hasattr(item, "task_id"):
            out.append(item)
        elif hasattr(item, "get_leaves"):
            out.extend(item.get_leaves() if upstream_side else item.get_roots())
        else:
            raise TypeError(
                f"Relationships can only be set between Operators, TaskGroups, XComArgs and Labels; "
                f"received {type(item).__name__}"
            )
    return out


XComArg.__module__ = "airflow.models.xcom_arg"
