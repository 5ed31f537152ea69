"""Parse-time global state: the DAG and TaskGroup context stacks and the
registry of DAGs created while a file is being parsed.

Airflow keeps the same state in ``DagContext`` / ``TaskGroupContext``; the
parse child resets it before executing each DAG file (``reset()``).
"""


class _State:
    __slots__ = ("dag_stack", "group_stack", "created_dags", "autoregistered", "mapping", "dialect3")

    def __init__(self):
        self.dag_stack = []
        self.group_stack = []
        self.created_dags = []
        self.autoregistered = []
        self.mapping = False
        self.dialect3 = False


STATE = _State()


def reset():
    STATE.dag_stack.clear()
    STATE.group_stack.clear()
    STATE.created_dags.clear()
    STATE.autoregistered.clear()
    STATE.mapping = False
    STATE.dialect3 = False


def current_dag():
    stack = STATE.dag_stack
    return stack[-1] if stack else None


def current_task_group(dag):
    stack = STATE.group_stack
    if stack:
        return stack[-1]
    return dag.task_group if dag is not None else None


class DagContext:
    """Airflow-compatible facade over the DAG context stack."""

    @classmethod
    def push_context_managed_dag(cls, dag):
        STATE.dag_stack.append(dag)

    @classmethod
    def pop_context_managed_dag(cls):
        return STATE.dag_stack.pop() if STATE.dag_stack else None

    @classmethod
    def get_current_dag(cls):
        return current_dag()

    get_current = get_current_dag


class TaskGroupContext:
    """Airflow-compatible facade over the TaskGroup context stack."""

    @classmethod
    def push_context_managed_task_group(cls, group):
        STATE.group_stack.append(group)

    @classmethod
    def pop_context_managed_task_group(cls):
        return STATE.group_stack.pop() if STATE.group_stack else None

    @classmethod
    def get_current_task_group(cls, dag):
        return current_task_group(dag)

    get_current = get_current_task_group


class ParsingContext:
    """What ``get_parsing_context()`` returns: nothing is targeted while parsing."""

    dag_id = None
    task_id = None


def get_parsing_context():
    return ParsingContext()
