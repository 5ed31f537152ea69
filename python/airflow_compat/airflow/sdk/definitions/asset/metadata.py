"""``airflow.sdk.definitions.asset.metadata``: Metadata."""
from airflow._updraft.assets import Metadata  # noqa: F401
