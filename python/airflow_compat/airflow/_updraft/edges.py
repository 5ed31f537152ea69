"""Edge labels: ``a >> Label("yes") >> b`` records a label on the a→b edge."""
from .dependencies import DependencyMixin, as_list


class EdgeModifier(DependencyMixin):
    """Holds the nodes on each side and labels every edge made through it."""

    def __init__(self, label=None):
        self.label = label
        self._upstream = []
        self._downstream = []

    def set_upstream(self, other, edge_modifier=None):
        for up in as_list(other):
            self._upstream.append(up)
            for down in self._downstream:
                up.set_downstream(down, edge_modifier=self)

    def set_downstream(self, other, edge_modifier=None):
        for down in as_list(other):
            self._downstream.append(down)
            for up in self._upstream:
                up.set_downstream(down, edge_modifier=self)

    # ``a >> label`` calls ``a.set_downstream(label)`` which lands here.
    def update_relative(self, other, upstream=True, edge_modifier=None):
        if upstream:
            self.set_upstream(other)
        else:
            self.set_downstream(other)

    def add_edge_info(self, dag, upstream_id, downstream_id):
        dag.set_edge_info(upstream_id, downstream_id, {"label": self.label})

    def __repr__(self):
        return f"Label({self.label!r})"


def Label(label):  # noqa: N802 - Airflow's spelling
    """Create an EdgeModifier that sets a human-readable label on the edge."""
    return EdgeModifier(label=label)
