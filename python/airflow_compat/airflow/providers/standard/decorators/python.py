"""Standard provider: the ``@task`` (python) decorator."""
from airflow._updraft.decorators import _PythonDecoratedOperator  # noqa: F401
from airflow._updraft.decorators import task as _task  # noqa: E402
python_task = _task.python
