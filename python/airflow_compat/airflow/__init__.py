"""Updraft's ``airflow`` package: the authoring surface of Apache Airflow 2.10
and 3.1, so that existing DAG files import unchanged. It only builds DAG
objects for Updraft's parse child; scheduling and running happen in Rust.
Importing an ``airflow.*`` module that is not provided fails with a clear
``ModuleNotFoundError`` (see ``airflow._updraft.finder``).
"""
from airflow._updraft import finder as _finder

_finder.install()

from airflow._updraft.assets import Asset, Dataset  # noqa: E402,F401
from airflow._updraft.dag import DAG  # noqa: E402,F401
from airflow._updraft.xcomarg import XComArg  # noqa: E402,F401

__version__ = "2.10.5"
__all__ = ["DAG", "Dataset", "Asset", "XComArg", "__version__"]
