"""Team-specific operators (Airflow 2 imports).

Covers: a user-defined BaseOperator subclass defined in this file (own
``template_fields``, ``template_ext``, ``ui_color``, ``execute``), a subclass
of a built-in operator that does NOT override ``execute`` (keeps BashOperator
behaviour), and an operator imported from a helper module beside the DAG
(``dags/common/legacy_operators.py``, excluded from scanning by
``.airflowignore``).
"""
from __future__ import annotations

from datetime import datetime

from airflow import DAG
from airflow.models.baseoperator import BaseOperator
from airflow.operators.bash import BashOperator
from common.legacy_operators import AuditLogOperator


class GreetingOperator(BaseOperator):
    """Builds a greeting; the return value goes to XCom."""

    template_fields = ("name", "greeting_template")
    template_ext = (".tmpl",)
    ui_color = "#f0e4ff"

    def __init__(self, *, name: str, greeting_template: str = "Hello, {name}!", shout: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.name = name
        self.greeting_template = greeting_template
        self.shout = shout

    def execute(self, context):
        text = self.greeting_template.format(name=self.name)
        return text.upper() if self.shout else text


class QuietBashOperator(BashOperator):
    """BashOperator with team defaults; execute() is inherited."""

    ui_color = "#dddddd"

    def __init__(self, **kwargs):
        kwargs.setdefault("append_env", True)
        kwargs.setdefault("env", {"LOG_LEVEL": "warn"})
        super().__init__(**kwargs)


with DAG(
    dag_id="example_custom_operators_v2",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"customer": "Ada"},
    tags=["example", "custom", "v2"],
) as dag:
    greet = GreetingOperator(task_id="greet_customer", name="{{ params.customer }}")
    shout = GreetingOperator(task_id="shout_customer", name="{{ params.customer }}", shout=True)
    quiet = QuietBashOperator(task_id="quiet_echo", bash_command="echo {{ ti.xcom_pull(task_ids='greet_customer') }}")
    audit = AuditLogOperator(task_id="audit_greeting", message="greeted {{ params.customer }} in run {{ run_id }}")

    [greet, shout] >> quiet >> audit
