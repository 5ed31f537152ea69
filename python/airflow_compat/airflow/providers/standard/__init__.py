"""``airflow.providers.standard``: the standard provider (3.x home of the core operators)."""
