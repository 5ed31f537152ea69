"""The task-execution context hook: the Python task runner sets it while a
task runs; at parse time asking for it is an error, as in Airflow.
"""
from .exceptions import AirflowException

_CURRENT = []


class Context(dict):
    """The template/execution context passed to callables (a plain dict)."""


def get_current_context():
    if not _CURRENT:
        raise AirflowException(
            "Current context was requested but no context was found! Are you running within an Airflow task?"
        )
    return _CURRENT[-1]


def set_current_context(context):
    _CURRENT.append(context)
    return context
