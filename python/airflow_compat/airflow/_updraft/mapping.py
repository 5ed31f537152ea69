"""Dynamic task mapping: ``Op.partial(...).expand(...)`` / ``.expand_kwargs(...)``.

A mapped task is an ordinary operator instance (built with the partial
arguments; required arguments that will come from the expansion are ``None``)
whose ``mapped`` attribute records what to expand at run time.

As in Airflow, only argument *names* are checked at parse time (``partial()``
and ``expand()`` refuse names the operator does not take, ``expand()`` refuses
names already given to ``partial()`` and BaseOperator's own arguments). The
operator's ``__init__`` never runs upstream for a mapped task, so required
arguments are not enforced (``expand_kwargs()`` supplies them only at run
time) and values are not validated (see ``baseoperator.checking_values``).
"""
from . import context as ctx
from .xcomarg import XComArg


def _check_expand_value(name, value, owner=None):
    if isinstance(value, (list, tuple, dict, XComArg)):
        return
    type_name = type(value).__name__
    if owner:  # Airflow's wording differs (slightly) between classic and TaskFlow operators
        raise ValueError(f"{owner}.expand() got an unexpected type {type_name!r} for keyword argument {name}")
    raise ValueError(f"expand() got an unexpected type {type_name!r} for keyword argument {name!r}")


def _check_names(cls, func, kwargs):
    unknown = [k for k in kwargs if k not in cls._updraft_accepted]
    if not unknown:
        return
    if len(unknown) == 1:
        what = f"an unexpected keyword argument {unknown[0]!r}"
    else:
        what = "unexpected keyword arguments " + ", ".join(repr(k) for k in unknown)
    raise TypeError(f"{cls.__name__}.{func}() got {what}")


def _check_expand_kwargs_value(value):
    if isinstance(value, XComArg):
        return
    if isinstance(value, (list, tuple)) and all(isinstance(x, (dict, XComArg)) for x in value):
        return
    raise TypeError(f"expected XComArg or list[dict], not {type(value).__name__}")


def build_mapped(cls, partial_kwargs, expand, expand_kwargs, taskflow=False):
    """Instantiate ``cls`` as a mapped task and record the mapping.

    With ``taskflow`` the expanded names are arguments of the decorated
    function (they go to ``op_kwargs``), not of the operator.
    """
    if expand is not None:
        if not expand:
            raise TypeError("no arguments to expand against")
        if not taskflow:
            _check_names(cls, "expand", expand)
        for k, v in expand.items():
            _check_expand_value(k, v, None if taskflow else cls.__name__)
        if not taskflow:  # (TaskFlow: expand() values override partial() ones, as upstream)
            for k in expand:
                if k in partial_kwargs or k in _base_arg_names():
                    raise TypeError(f"unmappable or already specified argument: {k}")
    else:
        _check_expand_kwargs_value(expand_kwargs)
    kwargs = dict(partial_kwargs)
    if expand and taskflow:
        kwargs["op_kwargs"] = {**(kwargs.get("op_kwargs") or {}), **expand}
    elif expand:
        kwargs.update(expand)
    prev = ctx.STATE.mapping
    ctx.STATE.mapping = True
    try:
        op = cls(**kwargs)
    finally:
        ctx.STATE.mapping = prev
    op.__dict__["mapped"] = {
        "expand": dict(expand) if expand is not None else None,
        "expand_kwargs": expand_kwargs,
        "partial": {k: v for k, v in partial_kwargs.items()
                    if k not in ("task_id", "dag", "task_group", "python_callable", "multiple_outputs")},
    }
    op.__dict__["is_mapped"] = True
    refs = list(XComArg.iter_xcom_references(expand_kwargs)) if expand_kwargs is not None else []
    for ref in refs:
        op.set_upstream(ref.operator)
    return op


def _base_arg_names():
    from .baseoperator import _BASE_ARG_NAMES

    return _BASE_ARG_NAMES


class OperatorPartial:
    """What ``Operator.partial(**kwargs)`` returns."""

    def __init__(self, operator_class, kwargs):
        _check_names(operator_class, "partial", kwargs)
        if "task_id" not in kwargs:
            raise TypeError(f"{operator_class.__name__}.partial() missing required argument 'task_id'")
        self.operator_class = operator_class
        self.kwargs = kwargs

    def expand(self, **mapped_kwargs):
        return build_mapped(self.operator_class, self.kwargs, mapped_kwargs, None)

    def expand_kwargs(self, kwargs, *, strict=True):
        return build_mapped(self.operator_class, self.kwargs, None, kwargs)
