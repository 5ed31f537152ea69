"""Dynamic task mapping: ``Op.partial(...).expand(...)`` / ``.expand_kwargs(...)``.

A mapped task is an ordinary operator instance (built with the partial
arguments, required arguments that will come from the expansion left unset)
whose ``mapped`` attribute records what to expand at run time.
"""
from . import context as ctx
from .xcomarg import XComArg


def _check_expand_value(name, value):
    if isinstance(value, (list, tuple, dict, XComArg)):
        return
    raise ValueError(f"expand() got an unexpected type {type(value).__name__!r} for keyword argument {name!r}")


def build_mapped(cls, partial_kwargs, expand, expand_kwargs, taskflow=False):
    """Instantiate ``cls`` as a mapped task and record the mapping.

    With ``taskflow`` the expanded names are arguments of the decorated
    function (they go to ``op_kwargs``), not of the operator.
    """
    if expand is not None:
        if not expand:
            raise TypeError("no arguments to expand against")
        for k, v in expand.items():
            _check_expand_value(k, v)
            if k in (partial_kwargs.get("op_kwargs") or {} if taskflow else partial_kwargs):
                raise TypeError(f"{cls.__name__}.expand() got an argument {k!r} that was already given to partial()")
    elif not isinstance(expand_kwargs, (list, tuple, XComArg)):
        raise TypeError(f"expand_kwargs() expects a list[dict] or an XComArg, not {type(expand_kwargs).__name__}")
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


class OperatorPartial:
    """What ``Operator.partial(**kwargs)`` returns."""

    def __init__(self, operator_class, kwargs):
        if "task_id" not in kwargs:
            raise TypeError(f"{operator_class.__name__}.partial() missing required argument 'task_id'")
        self.operator_class = operator_class
        self.kwargs = kwargs

    def expand(self, **mapped_kwargs):
        return build_mapped(self.operator_class, self.kwargs, mapped_kwargs, None)

    def expand_kwargs(self, kwargs, *, strict=True):
        return build_mapped(self.operator_class, self.kwargs, None, kwargs)
