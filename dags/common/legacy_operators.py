"""Team operators written against the Airflow 2.x import paths."""
from __future__ import annotations

from airflow.models.baseoperator import BaseOperator


class AuditLogOperator(BaseOperator):
    """Records an audit line for a pipeline step (here: just logs it)."""

    template_fields = ("message", "audit_table")
    ui_color = "#e8f7e4"

    def __init__(self, *, message: str, audit_table: str = "audit.events", **kwargs) -> None:
        super().__init__(**kwargs)
        self.message = message
        self.audit_table = audit_table

    def execute(self, context):
        line = f"[{self.audit_table}] {self.message}"
        self.log.info(line)
        return line
