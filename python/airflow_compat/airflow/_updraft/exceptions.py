"""Airflow's exception classes (2.x ``airflow.exceptions`` and 3.x SDK names).

Parse-time errors raised by Updraft's compatibility layer use these classes,
so ``except AirflowException`` in user code behaves as under Airflow.
"""


class AirflowException(Exception):
    """Base class for all Airflow errors."""

    status_code = 500


class AirflowBadRequest(AirflowException):
    status_code = 400


class AirflowNotFoundException(AirflowException):
    status_code = 404


class AirflowConfigException(AirflowException):
    pass


class AirflowSensorTimeout(AirflowException):
    pass


class AirflowRescheduleException(AirflowException):
    def __init__(self, reschedule_date=None):
        super().__init__()
        self.reschedule_date = reschedule_date


class AirflowSkipException(AirflowException):
    pass


class AirflowFailException(AirflowException):
    pass


class AirflowTaskTimeout(BaseException):
    """Raised when a task runs past ``execution_timeout`` (a BaseException, as upstream)."""


class AirflowTaskTerminated(BaseException):
    pass


class AirflowDagCycleException(AirflowException):
    pass


class AirflowDagDuplicatedIdException(AirflowException):
    pass


class AirflowDagInconsistent(AirflowException):
    pass


class AirflowClusterPolicyViolation(AirflowException):
    pass


class AirflowClusterPolicySkipDag(AirflowException):
    pass


class AirflowTimetableInvalid(AirflowException):
    pass


class AirflowOptionalProviderFeatureException(AirflowException):
    pass


class AirflowProviderDeprecationWarning(DeprecationWarning):
    pass


class RemovedInAirflow3Warning(DeprecationWarning):
    pass


class AirflowRuntimeError(AirflowException):
    pass


class DuplicateTaskIdFound(AirflowException):
    pass


class TaskAlreadyInTaskGroup(AirflowException):
    pass


class TaskNotFound(AirflowNotFoundException):
    pass


class DagNotFound(AirflowNotFoundException):
    pass


class DagRunNotFound(AirflowNotFoundException):
    pass


class ParamValidationError(AirflowException):
    pass


class SerializationError(AirflowException):
    pass


class FailStopDagInvalidTriggerRule(AirflowException):
    pass


class UnmappableXComTypePushed(AirflowException):
    pass


class TaskDeferred(BaseException):
    """Raised by ``self.defer(...)``; carries the trigger and resume method."""

    def __init__(self, *, trigger=None, method_name="execute_complete", kwargs=None, timeout=None):
        super().__init__()
        self.trigger = trigger
        self.method_name = method_name
        self.kwargs = kwargs
        self.timeout = timeout


class TaskDeferralError(AirflowException):
    pass


class InvalidArgumentsError(TypeError, AirflowException):
    """Unknown keyword arguments to an operator (TypeError in 3.x, AirflowException in 2.x)."""


class VariableNotFound(AirflowNotFoundException, KeyError):
    """``Variable.get`` without a default for a variable that is not defined."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class UnsupportedAirflowModule(ModuleNotFoundError):
    """An ``airflow.*`` module that Updraft does not provide."""


# Tracebacks show the public module users import these from.
for _obj in list(globals().values()):
    if isinstance(_obj, type) and _obj.__module__ == __name__:
        _obj.__module__ = "airflow.exceptions"
