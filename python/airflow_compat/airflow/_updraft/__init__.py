"""Updraft's private implementation of the Airflow authoring surface.

Everything users import (``airflow.models``, ``airflow.sdk``, the standard and
Kafka providers, ...) re-exports names defined here, so that a class has one
identity whichever path a DAG file imports it from. Nothing in this package
talks to a database or runs tasks: it only builds DAG objects for the parse
child to serialize (see ``updraft_runtime.serialize``).
"""
