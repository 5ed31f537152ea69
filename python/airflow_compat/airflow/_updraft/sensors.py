"""``BaseSensorOperator`` (poke/reschedule/deferrable arguments) and the
standard sensors: Bash, Python, File, Time, TimeDelta, DateTime, ExternalTask
(+ ExternalTaskMarker).
"""
import datetime as _dt

from .baseoperator import BaseOperator, checking_values
from .builtin import builtin
from .enums import TaskInstanceState, WeekDay
from .exceptions import AirflowException
from .xcomarg import XComArg

_STD = "airflow.providers.standard.sensors."
_SENSOR_ARGS = ("poke_interval", "timeout", "soft_fail", "mode", "exponential_backoff", "max_wait",
                "silent_fail", "never_fail", "deferrable")


def _to_seconds(value, name):
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise AirflowException(f"The {name} must be a non-negative number")
        return float(value)
    raise AirflowException(f"Operator arg `{name}` must be timedelta object or a non-negative number")


def _seconds(value, name, default=None):
    try:
        return _to_seconds(value, name)
    except AirflowException:
        if checking_values():
            raise
        return default  # mapped task: the value comes from expand(); keep a valid number


def _states(value, default):
    if isinstance(value, XComArg):
        return value  # expanded from an XComArg (mapped task): resolved at run time
    if not value:
        return default
    return [str(s) for s in value]


class PokeReturnValue:
    """A sensor's poke result carrying an XCom value."""

    def __init__(self, is_done, xcom_value=None):
        self.is_done = is_done
        self.xcom_value = xcom_value

    def __bool__(self):
        return bool(self.is_done)


@builtin("custom", "airflow.sensors.base", "airflow.sdk.bases.sensor")
class BaseSensorOperator(BaseOperator):
    """Subclass and implement ``poke(context)``."""

    ui_color = "#e6f1f2"
    valid_modes = ("poke", "reschedule")
    _updraft_hidden_args = _SENSOR_ARGS

    def __init__(self, *, poke_interval=60, timeout=604800, soft_fail=False, mode="poke",
                 exponential_backoff=False, max_wait=None, silent_fail=False, never_fail=False,
                 deferrable=False, **kwargs):
        super().__init__(**kwargs)
        self.poke_interval = _seconds(poke_interval, "poke_interval", 60.0)
        self.timeout = _seconds(timeout, "timeout", 604800.0)
        self.soft_fail = soft_fail
        self.mode = mode
        self.exponential_backoff = exponential_backoff
        self.max_wait = _seconds(max_wait, "max_wait") if max_wait is not None else None
        self.silent_fail = silent_fail
        self.never_fail = never_fail
        self.deferrable = deferrable
        if not checking_values():
            if mode not in self.valid_modes:
                self.mode = "poke"
            return
        if soft_fail and never_fail:
            raise ValueError("soft_fail and never_fail are mutually exclusive, you can not provide both.")
        if mode not in self.valid_modes:
            raise AirflowException(
                f"The mode must be one of {list(self.valid_modes)},'{self.dag_id}.{self.task_id}'; received '{mode}'."
            )

    def poke(self, context):
        raise NotImplementedError("Override me.")


@builtin("bash_sensor", "airflow.sensors.bash", _STD + "bash")
class BashSensor(BaseSensorOperator):
    """Succeeds when the bash command exits 0."""

    template_fields = ("bash_command", "env")
    template_ext = ()  # unlike BashOperator: a ".sh" bash_command is not read as a template file

    def __init__(self, *, bash_command, env=None, output_encoding="utf-8", retry_exit_code=None, **kwargs):
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.output_encoding = output_encoding
        self.retry_exit_code = retry_exit_code


@builtin("python_sensor", "airflow.sensors.python", _STD + "python")
class PythonSensor(BaseSensorOperator):
    """Succeeds when the callable returns a truthy value or ``PokeReturnValue(True)``."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")
    _updraft_python = True

    def __init__(self, *, python_callable, op_args=None, op_kwargs=None, templates_dict=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(python_callable) and checking_values():
            raise AirflowException("`python_callable` param must be callable")
        self.python_callable = python_callable
        self.op_args = list(op_args) if isinstance(op_args, (list, tuple)) else (op_args or [])
        self.op_kwargs = dict(op_kwargs) if isinstance(op_kwargs, dict) else (op_kwargs or {})
        self.templates_dict = templates_dict


@builtin("file_sensor", "airflow.sensors.filesystem", _STD + "filesystem")
class FileSensor(BaseSensorOperator):
    """Waits for a file or folder to exist (glob patterns allowed)."""

    template_fields = ("filepath", "fs_conn_id")  # 2.10: ("filepath",), see airflow2.FileSensor
    ui_color = "#91818a"

    def __init__(self, *, filepath, fs_conn_id="fs_default", recursive=False, start_from_trigger=False,
                 trigger_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = recursive
        self.start_from_trigger = start_from_trigger
        self.trigger_kwargs = trigger_kwargs


@builtin("time_sensor", "airflow.sensors.time_sensor", _STD + "time")
class TimeSensor(BaseSensorOperator):
    """Waits until the given time of day (in the DAG's timezone)."""

    def __init__(self, *, target_time, start_from_trigger=False, end_from_trigger=False, trigger_kwargs=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(target_time, _dt.time) and checking_values():
            raise TypeError(f"Expected datetime.time type for target_time. Got {type(target_time)}")
        self.target_time = target_time
        self.start_from_trigger = start_from_trigger
        self.end_from_trigger = end_from_trigger
        self.trigger_kwargs = trigger_kwargs


@builtin("time_sensor", "airflow.sensors.time_sensor", _STD + "time")
class TimeSensorAsync(TimeSensor):
    def __init__(self, *, deferrable=True, **kwargs):
        super().__init__(deferrable=deferrable, **kwargs)


@builtin("time_delta_sensor", "airflow.sensors.time_delta", _STD + "time_delta")
class TimeDeltaSensor(BaseSensorOperator):
    """Waits until ``data_interval_end + delta``."""

    template_fields = ("delta",)  # 2.10: none, see airflow2.TimeDeltaSensor

    def __init__(self, *, delta, end_from_trigger=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(delta, _dt.timedelta) and checking_values():
            raise TypeError(f"Expected datetime.timedelta type for delta. Got {type(delta)}")
        self.delta = delta
        self.end_from_trigger = end_from_trigger


@builtin("time_delta_sensor", "airflow.sensors.time_delta", _STD + "time_delta")
class TimeDeltaSensorAsync(TimeDeltaSensor):
    def __init__(self, *, deferrable=True, **kwargs):
        super().__init__(deferrable=deferrable, **kwargs)


@builtin("date_time_sensor", "airflow.sensors.date_time", _STD + "date_time")
class DateTimeSensor(BaseSensorOperator):
    """Waits until ``target_time`` (a datetime or a templated string)."""

    template_fields = ("target_time",)

    def __init__(self, *, target_time, start_from_trigger=False, end_from_trigger=False, trigger_kwargs=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(target_time, (str, _dt.datetime)) and checking_values():
            raise TypeError(f"Expected str or datetime.datetime type for target_time. Got {type(target_time)}")
        self.target_time = target_time
        self.start_from_trigger = start_from_trigger
        self.end_from_trigger = end_from_trigger
        self.trigger_kwargs = trigger_kwargs


@builtin("date_time_sensor", "airflow.sensors.date_time", _STD + "date_time")
class DateTimeSensorAsync(DateTimeSensor):
    def __init__(self, *, deferrable=True, **kwargs):
        super().__init__(deferrable=deferrable, **kwargs)


@builtin("external_task_sensor", "airflow.sensors.external_task", _STD + "external_task")
class ExternalTaskSensor(BaseSensorOperator):
    """Waits for a task, task group or whole run of another DAG (matched by logical date)."""

    template_fields = ("external_dag_id", "external_task_id", "external_task_ids", "external_task_group_id")
    ui_color = "#4db7db"

    def __init__(self, *, external_dag_id, external_task_id=None, external_task_ids=None,
                 external_task_group_id=None, allowed_states=None, skipped_states=None, failed_states=None,
                 execution_delta=None, execution_date_fn=None, check_existence=False, poll_interval=2.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.allowed_states = _states(allowed_states, [TaskInstanceState.SUCCESS.value])
        self.skipped_states = _states(skipped_states, [])
        self.failed_states = _states(failed_states, [])
        if checking_values():
            total = self.allowed_states + self.skipped_states + self.failed_states
            if len(total) != len(set(total)):
                raise AirflowException(
                    "Duplicate values provided across allowed_states, skipped_states and failed_states."
                )
            if external_task_id is not None and external_task_ids is not None:
                raise ValueError(
                    "Only one of `external_task_id` or `external_task_ids` may be provided to ExternalTaskSensor; "
                    "use external_task_id or external_task_ids or external_task_group_id."
                )
            if external_task_group_id is not None and (external_task_id is not None
                                                       or external_task_ids is not None):
                raise ValueError(
                    "Only one of `external_task_group_id` or `external_task_ids` may be provided to "
                    "ExternalTaskSensor; use external_task_id or external_task_ids or external_task_group_id."
                )
            if execution_delta is not None and execution_date_fn is not None:
                raise ValueError(
                    "Only one of `execution_delta` or `execution_date_fn` may be provided to ExternalTaskSensor; "
                    "not both."
                )
        if external_task_id is not None and external_task_ids is None:
            external_task_ids = [external_task_id]
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_ids = external_task_ids
        self.external_task_group_id = external_task_group_id
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn
        self.check_existence = check_existence
        self.poll_interval = poll_interval


@builtin("external_task_marker", "airflow.sensors.external_task", _STD + "external_task")
class ExternalTaskMarker(BaseOperator):
    """Clearing this task with "recursive" also clears the task in the other DAG.

    The standard provider's class; 2.10's takes ``execution_date`` instead of
    ``logical_date`` (see ``airflow2.ExternalTaskMarker``).
    """

    template_fields = ("external_dag_id", "external_task_id", "logical_date")
    ui_color = "#4db7db"

    def __init__(self, *, external_dag_id, external_task_id, logical_date="{{ logical_date.isoformat() }}",
                 recursion_depth=10, **kwargs):
        super().__init__(**kwargs)
        if isinstance(logical_date, _dt.datetime):
            logical_date = logical_date.isoformat()
        elif not isinstance(logical_date, str) and checking_values():
            raise TypeError(f"Expected str or datetime.datetime type for logical_date. Got {type(logical_date)}")
        if checking_values() and recursion_depth <= 0:
            raise ValueError("recursion_depth should be a positive integer")
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.logical_date = logical_date
        self.recursion_depth = recursion_depth


@builtin("day_of_week_sensor", "airflow.sensors.weekday", _STD + "weekday")
class DayOfWeekSensor(BaseSensorOperator):
    """Waits until the (logical or current) day is one of ``week_day``."""

    _updraft_hidden_args = ("use_task_execution_day",)

    def __init__(self, *, week_day, use_task_logical_date=False, use_task_execution_day=False, **kwargs):
        super().__init__(**kwargs)
        self._week_day_num = WeekDay.validate_week_day(week_day) if checking_values() else None
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date or use_task_execution_day
