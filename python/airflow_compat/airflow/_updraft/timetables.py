"""Timetables: the classes users pass as ``schedule=`` (or subclass).

Updraft's scheduler implements cron, delta, once, continuous and asset
schedules natively; these classes only carry the arguments to serialize.
"""
import datetime as _dt

from .compat import make_timezone, tz_name
from .exceptions import AirflowTimetableInvalid


class DataInterval:
    def __init__(self, start, end):
        self.start = start
        self.end = end

    @classmethod
    def exact(cls, at):
        return cls(at, at)


class TimeRestriction:
    def __init__(self, earliest, latest, catchup):
        self.earliest = earliest
        self.latest = latest
        self.catchup = catchup


class DagRunInfo:
    def __init__(self, run_after, data_interval):
        self.run_after = run_after
        self.data_interval = data_interval

    @classmethod
    def exact(cls, at):
        return cls(at, DataInterval.exact(at))

    @classmethod
    def interval(cls, start, end):
        return cls(end, DataInterval(start, end))

    @property
    def logical_date(self):
        return self.data_interval.start


class Timetable:
    """Base class of all timetables; users subclass it for custom schedules."""

    description = ""
    periodic = True
    can_be_scheduled = True
    run_ordering = ("data_interval_end", "logical_date")
    active_runs_limit = None

    @classmethod
    def deserialize(cls, data):
        return cls()

    def serialize(self):
        return {}

    def validate(self):
        """Raise AirflowTimetableInvalid when the arguments are not usable."""

    @property
    def summary(self):
        return type(self).__name__

    def infer_manual_data_interval(self, *, run_after):
        return DataInterval.exact(run_after)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        raise NotImplementedError


class NullTimetable(Timetable):
    can_be_scheduled = False
    description = "Never, external triggers only"
    periodic = False


class OnceTimetable(Timetable):
    description = "Once, as soon as possible"
    periodic = False


class ContinuousTimetable(Timetable):
    description = "As frequently as possible, but only one run at a time."
    active_runs_limit = 1
    periodic = False


class AssetTriggeredTimetable(Timetable):
    description = "Triggered by assets"
    periodic = False

    def __init__(self, assets):
        self.asset_condition = assets


DatasetTriggeredTimetable = AssetTriggeredTimetable

_CRON_FIELD_OK = set("0123456789*/,-?LW#abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def validate_cron(expr):
    """A light check of a cron expression (5 or 6 fields); presets are accepted."""
    if not isinstance(expr, str):
        raise AirflowTimetableInvalid(f"Cron expression must be a string, got {type(expr).__name__}")
    if expr in CRON_PRESETS:
        return CRON_PRESETS[expr]
    fields = expr.split()
    if len(fields) not in (5, 6) or any(not set(f) <= _CRON_FIELD_OK for f in fields):
        raise AirflowTimetableInvalid(f"Invalid Cron expression: {expr!r}")
    return expr


class _CronMixin:
    def __init__(self, cron, timezone):
        self._expression = cron
        self._timezone = make_timezone(timezone)

    @property
    def description(self):
        return f"cron {self._expression}"

    @property
    def summary(self):
        return self._expression

    def validate(self):
        validate_cron(self._expression)

    @property
    def timezone_name(self):
        return tz_name(self._timezone)


class CronDataIntervalTimetable(_CronMixin, Timetable):
    """A run per cron interval, started when the interval ends (2.x default)."""

    def __init__(self, cron, timezone="UTC"):
        super().__init__(cron, timezone)

    def serialize(self):
        return {"expression": self._expression, "timezone": self.timezone_name}


class CronTriggerTimetable(_CronMixin, Timetable):
    """A run at each cron time (3.x default for cron strings)."""

    def __init__(self, cron, *, timezone="UTC", interval=_dt.timedelta(), run_immediately=False):
        super().__init__(cron, timezone)
        self._interval = interval
        self._run_immediately = run_immediately

    def serialize(self):
        return {"expression": self._expression, "timezone": self.timezone_name,
                "interval": self._interval, "run_immediately": self._run_immediately}


class MultipleCronTriggerTimetable(Timetable):
    """Several cron expressions; a run at each time any of them fires."""

    def __init__(self, *crons, timezone="UTC", interval=_dt.timedelta(), run_immediately=False):
        if not crons:
            raise ValueError("cron expression required")
        self._crons = list(crons)
        self._timezone = make_timezone(timezone)
        self._interval = interval
        self._run_immediately = run_immediately

    @property
    def description(self):
        return ", ".join(self._crons)

    def validate(self):
        for c in self._crons:
            validate_cron(c)

    def serialize(self):
        return {"expressions": list(self._crons), "timezone": tz_name(self._timezone),
                "interval": self._interval, "run_immediately": self._run_immediately}


class _DeltaMixin:
    def __init__(self, delta):
        self._delta = delta

    def validate(self):
        if isinstance(self._delta, _dt.timedelta) and self._delta.total_seconds() <= 0:
            raise AirflowTimetableInvalid("schedule interval must be positive")

    @property
    def description(self):
        return str(self._delta)


class DeltaDataIntervalTimetable(_DeltaMixin, Timetable):
    def serialize(self):
        return {"delta": self._delta}


class DeltaTriggerTimetable(_DeltaMixin, Timetable):
    def __init__(self, delta, *, interval=_dt.timedelta()):
        super().__init__(delta)
        self._interval = interval

    def serialize(self):
        return {"delta": self._delta, "interval": self._interval}


class EventsTimetable(Timetable):
    """Runs at an explicit list of datetimes."""

    def __init__(self, event_dates, restrict_to_events=False, presorted=False, description=None):
        self.event_dates = list(event_dates) if presorted else sorted(event_dates)
        self.restrict_to_events = restrict_to_events
        self.description = description or f"{len(self.event_dates)} events"

    def serialize(self):
        return {"event_dates": list(self.event_dates), "restrict_to_events": self.restrict_to_events}


class AssetOrTimeSchedule(Timetable):
    """Runs on a time schedule and also when the assets are updated."""

    def __init__(self, *, timetable, assets=None, datasets=None):
        self.timetable = timetable
        cond = assets if assets is not None else datasets
        from .assets import asset_condition

        self.asset_condition = asset_condition(cond)
        self.description = f"Triggered by assets or {timetable.description}"


DatasetOrTimeSchedule = AssetOrTimeSchedule


# Report the public module paths (what users import) for class names.
for _cls, _mod in (
    (Timetable, "airflow.timetables.base"), (DataInterval, "airflow.timetables.base"),
    (TimeRestriction, "airflow.timetables.base"), (DagRunInfo, "airflow.timetables.base"),
    (NullTimetable, "airflow.timetables.simple"), (OnceTimetable, "airflow.timetables.simple"),
    (ContinuousTimetable, "airflow.timetables.simple"), (AssetTriggeredTimetable, "airflow.timetables.simple"),
    (CronDataIntervalTimetable, "airflow.timetables.interval"),
    (DeltaDataIntervalTimetable, "airflow.timetables.interval"),
    (CronTriggerTimetable, "airflow.timetables.trigger"), (DeltaTriggerTimetable, "airflow.timetables.trigger"),
    (MultipleCronTriggerTimetable, "airflow.timetables.trigger"), (EventsTimetable, "airflow.timetables.events"),
    (AssetOrTimeSchedule, "airflow.timetables.assets"),
):
    _cls.__module__ = _mod
