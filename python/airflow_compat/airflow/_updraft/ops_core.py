"""Core operators: Empty/Dummy, Bash, LatestOnly, TriggerDagRun and the
date/weekday branch operators, with Airflow's arguments and template fields.
"""
import datetime as _dt

from .baseoperator import BaseOperator, checking_values
from .builtin import builtin
from .enums import DagRunState, WeekDay
from .exceptions import AirflowException

_STD = "airflow.providers.standard.operators."


@builtin("empty", "airflow.operators.empty", _STD + "empty")
class EmptyOperator(BaseOperator):
    """Does nothing: the task instance goes straight to success."""

    ui_color = "#e8f7e4"
    inherits_from_empty_operator = True

    def execute(self, context):
        pass


# 2.x alias (removed upstream in 3.0; kept here): the very same class, so its
# task_type is "EmptyOperator" as in Airflow 2.10.
DummyOperator = EmptyOperator


@builtin("bash", "airflow.operators.bash", _STD + "bash")
class BashOperator(BaseOperator):
    """Runs a bash command; the last line of stdout is pushed to XCom."""

    template_fields = ("bash_command", "env", "cwd")
    template_fields_renderers = {"bash_command": "bash", "env": "json"}
    template_ext = (".sh", ".bash")
    ui_color = "#f0ede4"
    _updraft_hidden_args = ("skip_exit_code",)

    def __init__(self, *, bash_command, env=None, append_env=False, output_encoding="utf-8",
                 skip_exit_code=None, skip_on_exit_code=99, cwd=None, output_processor=None, **kwargs):
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.append_env = append_env
        self.output_encoding = output_encoding
        self.skip_on_exit_code = skip_exit_code if skip_exit_code is not None else skip_on_exit_code
        self.cwd = cwd
        self.output_processor = output_processor


@builtin("custom", "airflow.operators.branch", _STD + "branch")
class BaseBranchOperator(BaseOperator):
    """Subclass and implement ``choose_branch(context)``."""

    inherits_from_skipmixin = True

    def choose_branch(self, context):
        raise NotImplementedError


@builtin("latest_only", "airflow.operators.latest_only", _STD + "latest_only")
class LatestOnlyOperator(BaseBranchOperator):
    """Skips downstream tasks unless the run is for the latest schedule interval."""

    ui_color = "#e9ffdb"


@builtin("trigger_dagrun", "airflow.operators.trigger_dagrun", _STD + "trigger_dagrun")
class TriggerDagRunOperator(BaseOperator):
    """Triggers a run of another DAG, optionally waiting for it to finish."""

    template_fields = ("trigger_dag_id", "trigger_run_id", "logical_date", "conf", "wait_for_completion",
                       "skip_when_already_exists")
    template_fields_renderers = {"conf": "py"}
    ui_color = "#ffefeb"
    _updraft_hidden_args = ("execution_date",)

    def __init__(self, *, trigger_dag_id, trigger_run_id=None, conf=None, logical_date=None,
                 execution_date=None, reset_dag_run=False, wait_for_completion=False, poke_interval=60,
                 allowed_states=None, failed_states=None, skip_when_already_exists=False, deferrable=False,
                 run_after=None, fail_when_dag_is_paused=False, note=None, openlineage_inject_parent_info=True,
                 **kwargs):
        super().__init__(**kwargs)
        if logical_date is None:
            logical_date = execution_date
        if logical_date is not None and not isinstance(logical_date, (str, _dt.datetime)) and checking_values():
            raise TypeError(
                f"Expected str or datetime.datetime type for logical_date. Got {type(logical_date)}"
            )
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf = conf
        self.logical_date = logical_date
        self.reset_dag_run = reset_dag_run
        self.wait_for_completion = wait_for_completion
        self.poke_interval = poke_interval
        self.allowed_states = [str(s) for s in allowed_states] if allowed_states else [DagRunState.SUCCESS.value]
        self.failed_states = [str(s) for s in failed_states] if failed_states else [DagRunState.FAILED.value]
        self.skip_when_already_exists = skip_when_already_exists
        self.deferrable = deferrable
        self.run_after = run_after
        self.fail_when_dag_is_paused = fail_when_dag_is_paused
        self.note = note
        self.openlineage_inject_parent_info = openlineage_inject_parent_info


@builtin("branch_datetime", "airflow.operators.datetime", _STD + "datetime")
class BranchDateTimeOperator(BaseBranchOperator):
    """Follows one of two task lists depending on the current (or logical) datetime."""

    _updraft_hidden_args = ("use_task_execution_date",)

    def __init__(self, *, follow_task_ids_if_true, follow_task_ids_if_false, target_lower, target_upper,
                 use_task_logical_date=False, use_task_execution_date=False, **kwargs):
        super().__init__(**kwargs)
        if target_lower is None and target_upper is None and checking_values():
            raise AirflowException(
                "Both target_upper and target_lower are None. At least one "
                "must be defined to be compared to the current datetime"
            )
        self.target_lower = target_lower
        self.target_upper = target_upper
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.use_task_logical_date = use_task_logical_date or use_task_execution_date


@builtin("branch_weekday", "airflow.operators.weekday", _STD + "weekday")
class BranchDayOfWeekOperator(BaseBranchOperator):
    """Follows one of two task lists depending on the day of the week."""

    _updraft_hidden_args = ("use_task_execution_day",)

    def __init__(self, *, follow_task_ids_if_true, follow_task_ids_if_false, week_day,
                 use_task_logical_date=False, use_task_execution_day=False, **kwargs):
        super().__init__(**kwargs)
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self._week_day_num = WeekDay.validate_week_day(week_day) if checking_values() else None
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date or use_task_execution_day
