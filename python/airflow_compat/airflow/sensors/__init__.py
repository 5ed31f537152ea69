"""Airflow 2.x ``airflow.sensors`` package (the standard sensors live in its submodules)."""
