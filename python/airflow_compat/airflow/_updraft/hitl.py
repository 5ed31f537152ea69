"""Human-in-the-loop operators of Airflow 3.1 (``airflow.providers.standard.operators.hitl``,
standard provider 1.21.0) with upstream's argument validation. Updraft runs them
natively: the task waits (deferred) for an answer given in the UI or the REST API.

``fields`` carries ``response_timeout`` (a lone ``execution_timeout`` moves
there, as upstream does) and ``params``: the request's form, i.e. the DAG's
params merged with the operator's ``params`` argument, each entry a tagged
``Param`` (``{"value", "description", "schema"}``).
"""
import os
import sys
import warnings

from .baseoperator import BaseOperator, checking_values
from .builtin import builtin
from .compat import as_timedelta
from .exceptions import AirflowProviderDeprecationWarning
from .params import ParamsDict

_M = "airflow.providers.standard.operators.hitl"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _caller_stacklevel():
    """The ``stacklevel`` that attributes a warning to the first frame outside
    the ``airflow`` package (the DAG file's line), through nested ``__init__``s."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def notifier_spec(n):
    """What the worker needs to call a notifier: its class path and its
    attributes (``HttpNotifier``'s ``http_conn_id``, ``endpoint``, ``json``…).
    The worker runs ``HttpNotifier`` natively and reports any other class as
    not called (docs/hitl.md)."""
    from .encode import encode

    t = type(n)
    attrs = {k: v for k, v in vars(n).items() if not k.startswith("_")} if hasattr(n, "__dict__") else {}
    return {"class": f"{t.__module__}.{t.__qualname__}", "kwargs": encode(attrs)}


@builtin("hitl", _M)
class HITLOperator(BaseOperator):
    """Ask a human to pick one (or several) of ``options``; the answer goes to XCom."""

    template_fields = ("subject", "body")
    _updraft_extra_fields = ("params", "notifier_specs")
    # The notifier objects are not serialized (their repr may hold secrets);
    # ``notifier_specs`` says what each is (see ``notifier_spec``).
    _updraft_hidden_args = ("notifiers",)

    def __init__(self, *, subject, options, body=None, defaults=None, multiple=False, params=None,
                 notifiers=None, assigned_users=None, response_timeout=None, **kwargs):
        # As upstream, the form's params are the task's params: the DAG's (and
        # default_args') merged with the operator's own.
        super().__init__(params=params, **kwargs)
        if self.execution_timeout and not response_timeout:
            warnings.warn(
                "Passing `execution_timeout` to HITLOperator to control the human response wait is deprecated. "
                "Use `response_timeout` instead. `execution_timeout` will be cleared to prevent it from killing "
                "the task before defer() is reached.",
                AirflowProviderDeprecationWarning,
                stacklevel=_caller_stacklevel(),
            )
            response_timeout = self.execution_timeout
            self.execution_timeout = None
        if isinstance(response_timeout, (int, float)) and not isinstance(response_timeout, bool):
            response_timeout = as_timedelta(response_timeout, "response_timeout")
        self.response_timeout = response_timeout
        self.subject = subject
        self.body = body
        self.options = list(options) if isinstance(options, (list, tuple)) else options
        self.defaults = [defaults] if isinstance(defaults, str) else (list(defaults) if isinstance(
            defaults, (list, tuple)) else defaults)
        self.multiple = multiple
        if not isinstance(self.params, ParamsDict):
            self.params = ParamsDict(self.params)
        if notifiers is not None and not isinstance(notifiers, (list, tuple)):
            notifiers = [notifiers]
        self.notifiers = list(notifiers) if notifiers else []
        self.notifier_specs = [notifier_spec(n) for n in self.notifiers]
        if isinstance(assigned_users, dict):
            assigned_users = [assigned_users]
        self.assigned_users = assigned_users
        if checking_values():
            self.validate_options()
            self.validate_params()
            self.validate_defaults()

    def validate_options(self):
        if not self.options:
            raise ValueError('"options" cannot be empty.')

    def validate_params(self):
        if "_options" in self.params:
            raise ValueError('"_options" is not allowed in params')

    def validate_defaults(self):
        if self.defaults is not None:
            if not set(self.defaults).issubset(self.options):
                raise ValueError(f'defaults "{self.defaults}" should be a subset of options "{self.options}"')
            if self.multiple is False and len(self.defaults) > 1:
                raise ValueError('More than one defaults given when "multiple" is set to False.')


@builtin("hitl_approval", _M)
class ApprovalOperator(HITLOperator):
    """Approve / Reject. Reject skips the downstream tasks (or fails with ``fail_on_reject``)."""

    FIXED_ARGS = ("options", "multiple")
    APPROVE = "Approve"
    REJECT = "Reject"
    inherits_from_skipmixin = True

    def __init__(self, *, ignore_downstream_trigger_rules=False, fail_on_reject=False, **kwargs):
        for arg in self.FIXED_ARGS:
            if arg in kwargs:
                raise ValueError(f"Passing {arg} to ApprovalOperator is not allowed.")
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules
        self.fail_on_reject = fail_on_reject
        super().__init__(options=[self.APPROVE, self.REJECT], multiple=False, **kwargs)


@builtin("hitl_branch", _M)
class HITLBranchOperator(HITLOperator):
    """Follow the task(s) the chosen option(s) map to; skip the other direct downstream tasks."""

    inherits_from_skipmixin = True

    def __init__(self, *, options_mapping=None, **kwargs):
        super().__init__(**kwargs)
        self.options_mapping = options_mapping or {}
        if checking_values():
            self.validate_options_mapping()

    def validate_options_mapping(self):
        if not self.options_mapping:
            return
        unknown = set(self.options_mapping) - set(self.options)
        if unknown:
            raise ValueError(f"`options_mapping` contains keys that are not in `options`: {sorted(unknown)}")
        invalid = {k: (v, type(v).__name__) for k, v in self.options_mapping.items() if not isinstance(v, str)}
        if invalid:
            raise ValueError(f"`options_mapping` values must be strings (task_ids).\nInvalid entries: {invalid}")


@builtin("hitl_entry", _M)
class HITLEntryOperator(HITLOperator):
    """A form-only request: the entered params come back in ``params_input``."""

    OK = "OK"

    def __init__(self, **kwargs):
        if "options" not in kwargs:
            kwargs["options"] = [self.OK]
            if "defaults" not in kwargs:
                kwargs["defaults"] = [self.OK]
        super().__init__(**kwargs)
