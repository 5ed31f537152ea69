"""``airflow.datasets``: Dataset and its alias/condition classes (2.x spelling of assets)."""
from airflow._updraft.assets import Dataset, DatasetAlias, DatasetAll, DatasetAny, Metadata  # noqa: F401
BaseDataset = __import__('airflow._updraft.assets', fromlist=['BaseAsset']).BaseAsset
