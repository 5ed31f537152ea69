"""Human-in-the-loop operators of Airflow 3.1 (``airflow.providers.standard.operators.hitl``)
with upstream's argument validation. Updraft runs them natively: the task
waits (deferred) for an answer given in the UI or the REST API.
"""
from .baseoperator import BaseOperator
from .builtin import builtin
from .params import ParamsDict

_M = "airflow.providers.standard.operators.hitl"


@builtin("hitl", _M)
class HITLOperator(BaseOperator):
    """Ask a human to pick one (or several) of ``options``; the answer goes to XCom."""

    template_fields = ("subject", "body")

    def __init__(self, *, subject, options, body=None, defaults=None, multiple=False, params=None,
                 notifiers=None, assigned_users=None, respondents=None, **kwargs):
        super().__init__(**kwargs)
        self.subject = subject
        self.body = body
        self.options = list(options) if options is not None else []
        self.defaults = [defaults] if isinstance(defaults, str) else (list(defaults) if defaults is not None else None)
        self.multiple = multiple
        # HITL params are the form of the request, not the task's template params.
        self.params = params if isinstance(params, ParamsDict) else ParamsDict(params or {})
        if notifiers is not None and not isinstance(notifiers, (list, tuple)):
            notifiers = [notifiers]
        self.notifiers = list(notifiers) if notifiers else []
        if assigned_users is None:
            assigned_users = respondents
        if isinstance(assigned_users, dict):
            assigned_users = [assigned_users]
        self.assigned_users = assigned_users
        self.validate_options()
        self.validate_params()
        self.validate_defaults()

    def validate_options(self):
        if not self.options:
            raise ValueError('"options" cannot be empty.')
        if len(set(self.options)) != len(self.options):
            raise ValueError('"options" must not contain duplicates.')

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
        self.options_mapping = dict(options_mapping or {})
        unknown = sorted(set(self.options_mapping) - set(self.options))
        if unknown:
            raise ValueError(f"options_mapping contains keys that are not in options: {unknown}")
        for option, target in self.options_mapping.items():
            if not isinstance(target, str):
                raise ValueError(f"options_mapping[{option!r}] must be a task_id string, got {type(target)}")


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
