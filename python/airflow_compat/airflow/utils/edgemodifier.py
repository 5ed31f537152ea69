"""``airflow.utils.edgemodifier``: edge labels."""
from airflow._updraft.edges import EdgeModifier, Label  # noqa: F401
