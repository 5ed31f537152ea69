"""Shared helpers for the example DAGs (ignored by the DAG-folder scan via .airflowignore)."""
