"""``airflow.sdk.definitions.asset``: Asset and its alias/condition classes."""
from airflow._updraft.assets import Asset, AssetAlias, AssetAll, AssetAny, BaseAsset, Dataset, Model  # noqa: F401
