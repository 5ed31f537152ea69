"""Airflow 2.x ``airflow.operators`` package (the standard operators live in its submodules)."""
