"""Turns a DAG's ``schedule`` value into the contract's ``schedule`` object
(and into a Timetable object for code that reads ``dag.timetable``).
"""
import datetime as _dt

from .assets import Asset, AssetAlias, AssetAll, AssetAny, BaseAsset, asset_condition
from .compat import ArgNotSet, tz_name
from .encode import asset_dict, encode
from .exceptions import AirflowTimetableInvalid
from . import timetables as tt


def _is_relativedelta(v):
    return type(v).__name__ == "relativedelta"


def condition(c):
    if isinstance(c, Asset):
        return {"asset": asset_dict(c)}
    if isinstance(c, AssetAlias):
        return {"alias": {"name": c.name, "group": c.group}}
    if isinstance(c, AssetAll):
        return {"all": [condition(x) for x in c.objects]}
    if isinstance(c, AssetAny):
        return {"any": [condition(x) for x in c.objects]}
    raise TypeError(f"not an asset condition: {c!r}")


def _span(value):
    """A trigger timetable's ``interval``: seconds, or a relativedelta's fields."""
    if _is_relativedelta(value):
        return encode(value)["__var"]
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    return 0.0


def _run_immediately(value):
    """``run_immediately``: true, false, "auto" (None) or seconds (a timedelta)."""
    if value is None:
        return "auto"
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    return bool(value)


def _cron(expr, tz, timetable, interval=0.0, run_immediately=False):
    preset = expr if expr in tt.CRON_PRESETS else None
    return {"type": "cron", "expr": tt.validate_cron(expr), "preset": preset, "timezone": tz,
            "timetable": timetable, "interval": interval, "run_immediately": run_immediately}


def encode_schedule(raw, dag_tz):
    """The contract's schedule object; raises AirflowTimetableInvalid for bad values."""
    tzn = tz_name(dag_tz)
    if isinstance(raw, ArgNotSet):
        return {"type": "default"}
    if raw is None:
        return {"type": "none"}
    if isinstance(raw, str):
        if raw == "@once":
            return {"type": "once"}
        if raw == "@continuous":
            return {"type": "continuous"}
        return _cron(raw, tzn, None)
    if isinstance(raw, _dt.timedelta):
        return {"type": "delta", "seconds": raw.total_seconds(), "timetable": None, "interval": 0.0}
    if _is_relativedelta(raw):
        return {"type": "relativedelta", "value": encode(raw)["__var"], "timetable": None, "interval": 0.0}
    if isinstance(raw, BaseAsset):
        return {"type": "assets", "condition": condition(raw)}
    if isinstance(raw, (list, tuple, set, frozenset)):
        try:
            cond = asset_condition(raw)
        except (ValueError, TypeError):
            raise AirflowTimetableInvalid(f"{raw!r} is not a valid schedule.") from None
        return {"type": "assets", "condition": condition(cond)}
    if isinstance(raw, tt.Timetable):
        return _encode_timetable(raw, tzn)
    raise AirflowTimetableInvalid(f"{raw!r} is not a valid schedule.")


def _encode_timetable(t, tzn):
    cls = type(t)
    if cls is tt.NullTimetable:
        return {"type": "none"}
    if cls is tt.OnceTimetable:
        return {"type": "once"}
    if cls is tt.ContinuousTimetable:
        return {"type": "continuous"}
    if cls is tt.CronTriggerTimetable or cls is tt.CronDataIntervalTimetable:
        if cls is tt.CronTriggerTimetable:
            return _cron(t._expression, t.timezone_name, "trigger", _span(t._interval),
                         _run_immediately(t._run_immediately))
        return _cron(t._expression, t.timezone_name, "data_interval")
    if cls is tt.DeltaTriggerTimetable or cls is tt.DeltaDataIntervalTimetable:
        kind = "trigger" if cls is tt.DeltaTriggerTimetable else "data_interval"
        t.validate()
        interval = _span(getattr(t, "_interval", None))
        if _is_relativedelta(t._delta):
            return {"type": "relativedelta", "value": encode(t._delta)["__var"], "timetable": kind,
                    "interval": interval}
        return {"type": "delta", "seconds": t._delta.total_seconds(), "timetable": kind, "interval": interval}
    if cls is tt.AssetTriggeredTimetable:
        return {"type": "assets", "condition": condition(t.asset_condition)}
    if cls is tt.AssetOrTimeSchedule:
        return {"type": "asset_or_time", "condition": condition(t.asset_condition),
                "timetable": _encode_timetable(t.timetable, tzn)}
    t.validate()
    try:
        args = t.serialize()
    except Exception:  # noqa: BLE001 - a user timetable's serialize() may be broken
        args = {}
    description = getattr(t, "description", "") or ""
    return {"type": "timetable", "class": f"{cls.__module__}.{cls.__qualname__}",
            "description": str(description), "args": encode(args if isinstance(args, dict) else {})}


def to_timetable(raw, dag_tz):
    """A Timetable object for ``dag.timetable`` (2.x-style defaults)."""
    if isinstance(raw, tt.Timetable):
        return raw
    if isinstance(raw, ArgNotSet):
        return tt.DeltaDataIntervalTimetable(_dt.timedelta(days=1))
    if raw is None:
        return tt.NullTimetable()
    if raw == "@once":
        return tt.OnceTimetable()
    if raw == "@continuous":
        return tt.ContinuousTimetable()
    if isinstance(raw, str):
        return tt.CronDataIntervalTimetable(raw, dag_tz)
    if isinstance(raw, _dt.timedelta) or _is_relativedelta(raw):
        return tt.DeltaDataIntervalTimetable(raw)
    return tt.AssetTriggeredTimetable(asset_condition(raw))
