"""Tagged JSON encoding of Python values (``{"__type": T, "__var": V}``), as
specified in docs/serialized-dag.md. Plain JSON values pass through unchanged.
"""
import datetime as _dt
import enum
import functools
import math
import types

from .assets import Asset, AssetAlias
from .compat import ArgNotSet
from .params import DagParam, Param
from .xcomarg import XComArg

_PLAIN = (str, int, bool, type(None))
_FUNC_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.BuiltinMethodType,
               functools.partial, type)


class Literal:
    """``airflow.sdk.literal(value)``: a value the worker must not render as a template."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"literal({self.value!r})"


def literal(value):
    return Literal(value)


def iso(dt):
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=_dt.timezone.utc)
    return dt.isoformat()


def callable_path(fn):
    if isinstance(fn, functools.partial):
        fn = fn.func
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    module = getattr(fn, "__module__", None) or "builtins"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return f"{module}.{name}"


def _tag(t, v):
    return {"__type": t, "__var": v}


def asset_dict(a):
    return {"name": a.name, "uri": a.uri, "group": a.group, "extra": encode(a.extra)}


def param_dict(p):
    if not isinstance(p, Param):
        return {"value": encode(p), "description": None, "schema": {}}
    value = None if isinstance(p.value, ArgNotSet) else p.value
    return {"value": encode(value), "description": p.description, "schema": encode(p.schema)}


def encode(v):
    t = type(v)
    if t in _PLAIN:
        return v
    if t is float:
        return v if math.isfinite(v) else _tag("repr", {"class": "builtins.float", "repr": repr(v)})
    if t is list:
        return [encode(x) for x in v]
    if t is dict:
        if all(type(k) is str for k in v):
            return {k: encode(x) for k, x in v.items()}
        return _repr(v)
    if isinstance(v, enum.Enum):
        return encode(v.value)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, _dt.datetime):
        return _tag("datetime", iso(v))
    if isinstance(v, _dt.date):
        return _tag("date", v.isoformat())
    if isinstance(v, _dt.timedelta):
        return _tag("timedelta", v.total_seconds())
    if isinstance(v, _dt.time):
        return _tag("time", v.isoformat())
    if isinstance(v, XComArg):
        return _tag("xcomarg", {"task_id": v.operator.task_id, "key": v.key})
    if isinstance(v, Param):
        return _tag("param", param_dict(v))
    if isinstance(v, Asset):
        return _tag("asset", asset_dict(v))
    if isinstance(v, AssetAlias):
        return _tag("asset_alias", {"name": v.name, "group": v.group})
    if isinstance(v, Literal):
        return _tag("literal", encode(v.value))
    if isinstance(v, DagParam):
        return _tag("dag_param", {"name": v._name})
    if isinstance(v, (set, frozenset)):
        return _tag("set", [encode(x) for x in sorted(v, key=repr)])
    if isinstance(v, tuple):
        return _tag("tuple", [encode(x) for x in v])
    if isinstance(v, list):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v):
            return {str(k): encode(x) for k, x in v.items()}
        return _repr(v)
    if t.__name__ == "relativedelta":
        fields = ("years", "months", "weeks", "days", "hours", "minutes", "seconds", "microseconds",
                  "year", "month", "day", "weekday", "hour", "minute", "second", "microsecond")
        out = {}
        for f in fields:
            val = getattr(v, f, None)
            if f == "weeks":
                continue
            # Relative fields (plural) are 0 when unset; absolute ones None,
            # and an absolute 0 (hour=0: "at midnight") is meaningful.
            absolute = not f.endswith("s") and f != "weekday"
            if (val is not None) if absolute else bool(val):
                out[f] = val if isinstance(val, (int, float)) else repr(val)
        return _tag("relativedelta", out)
    if isinstance(v, _FUNC_TYPES):
        return _tag("callable", callable_path(v))
    return _repr(v)


def _repr(v):
    t = type(v)
    try:
        text = repr(v)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break parsing
        text = f"<{t.__name__}>"
    return _tag("repr", {"class": f"{t.__module__}.{t.__qualname__}", "repr": text})


def is_plain_encodable(v):
    """True when ``encode(v)`` needs no ``repr`` fallback anywhere inside."""
    enc = encode(v)
    stack = [enc]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if x.get("__type") == "repr":
                return False
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return True
