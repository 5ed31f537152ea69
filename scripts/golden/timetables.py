#!/usr/bin/env python3
"""Record how REAL Apache Airflow schedules DAG runs, for core/src/timetable/'s golden test.

Run it with the Python of an Airflow venv (see README.md beside this file):

    /work/airflow-venvs/af210/bin/python scripts/golden/timetables.py -o core/tests/timetable_golden/af210.json
    /work/airflow-venvs/af31/bin/python  scripts/golden/timetables.py -o core/tests/timetable_golden/af31.json

Each case builds a DAG the way a DAG file would (2.x: ``airflow.models.dag.DAG``, 3.x:
``airflow.sdk.DAG``), round-trips it through ``SerializedDAG`` (what the scheduler
reads), then walks ``SerializedDAG.next_dagrun_info(last)`` from a frozen "now",
feeding each answer's data interval back as ``last``, exactly as
``DagModel.calculate_dagrun_date_fields`` does. "now" is frozen by replacing ``utcnow``
in the timetable modules. ``advance`` > 0 moves "now" to ``run_after + advance``
seconds after each step (a scheduler that creates each run when it is due); 0 keeps
"now" fixed. ``manual`` records ``timetable.infer_manual_data_interval(run_after=...)``.

``schedule`` in each case is the contract's schedule object (docs/serialized-dag.md)
that Updraft's parse child emits for the same DAG; ``trigger`` holds the
CronTriggerTimetable/DeltaTriggerTimetable arguments the contract does not carry.
``cron_primitives`` records CronMixin's ``_get_next``/``_get_prev``/``_align_to_*``
around DST changes. All datetimes are UTC ISO 8601 strings.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import sys
import tempfile

UTC = dt.timezone.utc
NOW = "2024-06-12T10:23:45.678901+00:00"


def case(name, schedule, start=None, tz="UTC", **kw):
    """One scenario. ``schedule`` is a short spec turned into both Airflow and contract values."""
    c = {"name": name, "spec": schedule, "start": start, "tz": tz, "end": None, "catchup": None,
         "data_intervals": True, "now": NOW, "steps": 8, "advance": 0, "last": None, "manual": [],
         "only": None}
    c.update(kw)
    return c


CASES = [
    case("daily_catchup", "@daily", "2024-06-01T00:00:00", catchup=True, steps=14,
         manual=["2024-06-12T10:23:45+00:00", "2024-06-12T00:00:00+00:00"]),
    case("daily_no_catchup", "@daily", "2024-06-01T00:00:00", catchup=False, steps=4),
    case("daily_no_catchup_advancing", "@daily", "2024-06-01T00:00:00", catchup=False, advance=30),
    case("daily_catchup_default", "@daily", "2024-06-01T00:00:00", steps=4),
    case("daily_now_on_boundary", "@daily", "2024-06-01T00:00:00", catchup=False, steps=3,
         now="2024-06-12T00:00:00+00:00"),
    case("hourly_no_catchup", "@hourly", "2024-06-01T00:00:00", catchup=False, steps=3,
         manual=["2024-06-12T10:23:45+00:00"]),
    case("weekly_catchup", "@weekly", "2024-05-01T00:00:00", catchup=True, steps=8),
    case("monthly_catchup", "@monthly", "2024-01-15T00:00:00", catchup=True, steps=8),
    case("quarterly_catchup", "@quarterly", "2023-02-01T00:00:00", catchup=True, steps=6),
    case("yearly_no_catchup", "@yearly", "2020-01-01T00:00:00", catchup=False, steps=3),
    case("weekdays_catchup", "0 0 * * MON-FRI", "2024-06-01T00:00:00", catchup=True, steps=10,
         manual=["2024-06-09T12:00:00+00:00", "2024-06-10T00:00:00+00:00"]),
    case("weekdays_no_catchup", "0 0 * * MON-FRI", "2024-06-01T00:00:00", catchup=False, steps=4,
         now="2024-06-09T12:00:00+00:00"),
    case("every_15_catchup_unaligned_start", "*/15 * * * *", "2024-06-12T08:07:00", catchup=True,
         steps=12, manual=["2024-06-12T10:23:45.678901+00:00", "2024-06-12T10:30:00+00:00"]),
    case("every_15_no_catchup", "*/15 * * * *", "2024-06-12T08:07:00", catchup=False, steps=4),
    case("every_15_no_catchup_advancing", "*/15 * * * *", "2024-06-12T08:07:00", catchup=False,
         steps=6, advance=1),
    case("dom_or_dow", "0 12 1 * FRI", "2024-05-25T00:00:00", catchup=True, steps=8),
    case("daily_end_date", "@daily", "2024-06-01T00:00:00", catchup=True, end="2024-06-05T00:00:00",
         steps=8),
    case("daily_end_date_mid_interval", "@daily", "2024-06-01T00:00:00", catchup=True,
         end="2024-06-04T12:00:00", steps=8),
    case("daily_future_start_no_catchup", "@daily", "2024-07-01T00:00:00", catchup=False, steps=3),
    case("daily_future_start_catchup", "@daily", "2024-07-01T00:00:00", catchup=True, steps=3),
    case("daily_unaligned_start", "@daily", "2024-06-01T06:30:00", catchup=True, steps=3),
    case("daily_changed_schedule_last", "@daily", "2024-06-01T00:00:00", catchup=True, steps=3,
         last=["2024-06-03T05:00:00+00:00", "2024-06-04T05:00:00+00:00"]),
    # DST: the wall clock jumps at 02:00 (spring) and repeats 02:00-03:00 (autumn).
    case("ams_0230_spring", "30 2 * * *", "2024-03-28T00:00:00", tz="Europe/Amsterdam",
         catchup=True, steps=6, manual=["2024-03-31T01:00:00+00:00", "2024-03-31T01:30:00+00:00"]),
    case("ams_0230_autumn", "30 2 * * *", "2024-10-24T00:00:00", tz="Europe/Amsterdam",
         catchup=True, steps=6, manual=["2024-10-27T01:30:00+00:00"]),
    case("ams_daily_autumn_no_catchup", "@daily", "2024-10-01T00:00:00", tz="Europe/Amsterdam",
         catchup=False, steps=4, now="2024-10-26T23:30:00+00:00"),
    case("ny_hourly_autumn", "@hourly", "2024-11-02T22:00:00", tz="America/New_York",
         catchup=True, steps=10, manual=["2024-11-03T06:10:00+00:00"]),
    case("ny_30min_spring", "*/30 * * * *", "2024-03-10T00:00:00", tz="America/New_York",
         catchup=True, steps=8),
    case("ny_0900_spring", "0 9 * * *", "2024-03-08T00:00:00", tz="America/New_York",
         catchup=True, steps=5),
    case("ny_every_hour_day_1", "0 * 1 * *", "2024-10-31T22:00:00", tz="America/New_York",
         catchup=True, steps=6),
    # Hourly crons add the naive gap to the instant: across a weekend with a DST change the
    # first weekday run lands an hour off the wall clock.
    case("ams_weekday_halfhourly_autumn", "*/30 * * * 1-5", "2024-10-25T23:00:00",
         tz="Europe/Amsterdam", catchup=True, steps=4),
    case("ny_weekday_hourly_spring_trigger", "0 * * * 1-5", "2024-03-08T23:00:00",
         tz="America/New_York", catchup=True, steps=4, data_intervals=False),
    case("ny_hourly_no_catchup_in_fold", "@hourly", "2024-11-01T00:00:00", tz="America/New_York",
         catchup=False, steps=3, now="2024-11-03T06:20:00+00:00"),
    case("ny_0130_autumn", "30 1 * * *", "2024-11-01T00:00:00", tz="America/New_York",
         catchup=True, steps=5, manual=["2024-11-03T05:45:00+00:00", "2024-11-03T06:45:00+00:00"]),
    case("fixed_offset_daily", "0 6 * * *", "2024-06-01T00:00:00", tz="+02:00", catchup=True,
         steps=3),
    case("dom_full_range_or_dow", "0 0 1-31 * 1", "2024-06-01T00:00:00", catchup=True, steps=3),
    case("dom_question_mark", "0 0 ? * 1", "2024-06-01T00:00:00", catchup=True, steps=3),
    case("dom_step_one_or_dow", "0 0 */1 * 1", "2024-06-01T00:00:00", catchup=True, steps=3),
    case("dow_sunday_as_7", "0 0 * * 7", "2024-06-01T00:00:00", catchup=True, steps=3),
    case("dow_names_range_step", "30 8 * JAN-DEC mon-fri/2", "2024-06-01T00:00:00", catchup=True,
         steps=4),
    case("last_day_of_month", "0 0 L * *", "2024-01-15T00:00:00", catchup=True, steps=4),
    case("never_fires", "0 0 30 2 *", "2024-01-01T00:00:00", catchup=True, steps=2),
    case("hourly_recent_start_no_catchup", "@hourly", "2024-06-12T09:30:00", catchup=False,
         steps=2),
    case("daily_no_catchup_stale_last", "@daily", "2024-01-01T00:00:00", catchup=False, steps=2,
         last=["2024-03-01T00:00:00+00:00", "2024-03-02T00:00:00+00:00"]),
    # Cron strings under [scheduler] create_cron_data_intervals = False.
    case("trigger_daily_catchup", "@daily", "2024-06-01T00:00:00", catchup=True, steps=14,
         data_intervals=False, manual=["2024-06-12T10:23:45+00:00"]),
    case("trigger_daily_no_catchup", "@daily", "2024-06-01T00:00:00", catchup=False, steps=3,
         data_intervals=False),
    case("trigger_every_15_no_catchup", "*/15 * * * *", "2024-06-12T08:07:00", catchup=False,
         steps=3, data_intervals=False),
    case("trigger_weekdays_end_date", "0 0 * * MON-FRI", "2024-06-01T00:00:00", catchup=True,
         end="2024-06-12T00:00:00", steps=10, data_intervals=False),
    case("trigger_ams_spring", "30 2 * * *", "2024-03-28T00:00:00", tz="Europe/Amsterdam",
         catchup=True, steps=6, data_intervals=False),
    # A schedule without start_date: 2.x rejects it, 3.x requires catchup=False.
    case("trigger_no_start_no_catchup", "@hourly", None, catchup=False, steps=2,
         data_intervals=False, now="2024-06-12T10:03:00+00:00", only=3),
    case("trigger_ny_0130_autumn", "30 1 * * *", "2024-11-01T00:00:00", tz="America/New_York",
         catchup=True, steps=5, data_intervals=False),
    case("trigger_ny_hourly_autumn", "@hourly", "2024-11-03T03:00:00", tz="America/New_York",
         catchup=True, steps=5, data_intervals=False),
    case("trigger_no_catchup_stale_last", "@daily", "2024-01-01T00:00:00", catchup=False, steps=2,
         data_intervals=False, last=["2024-03-01T00:00:00+00:00", "2024-03-01T00:00:00+00:00"]),
    case("trigger_changed_schedule_last", "@daily", "2024-06-01T00:00:00", catchup=True, steps=3,
         data_intervals=False, last=["2024-06-03T05:00:00+00:00", "2024-06-04T05:00:00+00:00"]),
    # Explicit timetable classes.
    case("cron_trigger_interval", {"cron_trigger": "0 6 * * *", "interval": 86400.0},
         "2024-06-01T00:00:00", catchup=True, steps=4, manual=["2024-06-12T10:23:45+00:00"]),
    case("cron_trigger_interval_no_catchup", {"cron_trigger": "0 6 * * *", "interval": 3600.0},
         "2024-06-01T00:00:00", catchup=False, steps=3),
    case("cron_data_interval_explicit", {"cron_data_interval": "0 6 * * *"}, "2024-06-01T00:00:00",
         catchup=False, steps=3, data_intervals=False),
    case("run_immediately_true", {"cron_trigger": "0 * * * *", "run_immediately": True}, None,
         catchup=False, steps=2, only=3),
    case("run_immediately_false", {"cron_trigger": "0 * * * *", "run_immediately": False}, None,
         catchup=False, steps=2, only=3, now="2024-06-12T10:03:00+00:00"),
    case("run_immediately_false_far", {"cron_trigger": "0 * * * *", "run_immediately": False}, None,
         catchup=False, steps=2, only=3),
    case("run_immediately_delta_far", {"cron_trigger": "0 */6 * * *", "run_immediately": 1800.0},
         None, catchup=False, steps=2, only=3),
    case("run_immediately_default_near", {"cron_trigger": "0 * * * *"}, None, catchup=False,
         steps=2, only=3, now="2024-06-12T10:04:59+00:00"),
    case("run_immediately_delta", {"cron_trigger": "0 * * * *", "run_immediately": 1800.0}, None,
         catchup=False, steps=2, only=3),
    case("delta_trigger_explicit", {"delta_trigger": 21600.0, "interval": 3600.0},
         "2024-06-12T01:10:00", catchup=True, steps=4, only=3,
         manual=["2024-06-12T10:23:45+00:00"]),
    case("delta_trigger_no_start", {"delta_trigger": 3600.0}, None, catchup=False, steps=2, only=3),
    # timedelta schedules.
    case("delta_1d_catchup", {"delta": 86400.0}, "2024-06-01T00:00:00", catchup=True, steps=14,
         manual=["2024-06-12T10:23:45+00:00"]),
    case("delta_6h_unaligned_no_catchup", {"delta": 21600.0}, "2024-06-01T01:10:00",
         catchup=False, steps=3),
    case("delta_90min_no_catchup_advancing", {"delta": 5400.0}, "2024-06-01T00:00:00",
         catchup=False, steps=4, advance=7),
    case("delta_future_start", {"delta": 3600.0}, "2024-07-01T00:00:00", catchup=False, steps=2),
    case("delta_end_date", {"delta": 43200.0}, "2024-06-01T00:00:00", catchup=True,
         end="2024-06-02T12:00:00", steps=6),
    case("delta_trigger_no_catchup", {"delta_trigger": 7200.0}, "2024-06-01T00:30:00",
         catchup=False, steps=3, only=3),
    case("delta_1d_trigger_config", {"delta": 86400.0}, "2024-06-01T00:00:00", catchup=True,
         steps=3, data_intervals=False),
    case("relativedelta_month", {"relativedelta": {"months": 1}}, "2024-01-31T00:00:00",
         catchup=True, steps=6, manual=["2024-06-12T10:23:45+00:00"]),
    case("relativedelta_month_no_catchup", {"relativedelta": {"months": 1, "days": 2}},
         "2024-01-01T00:00:00", catchup=False, steps=2),
    # Trivial timetables.
    case("once_past", "@once", "2024-06-01T00:00:00", steps=2, manual=["2024-06-12T10:23:45+00:00"]),
    case("once_future", "@once", "2024-07-01T00:00:00", catchup=False, steps=2),
    case("once_end_before_start", "@once", "2024-06-01T00:00:00", end="2024-05-01T00:00:00"),
    case("once_no_start", "@once", None, catchup=False, steps=2, only=3),
    case("continuous_past", "@continuous", "2024-06-01T00:00:00", catchup=False, steps=3,
         advance=90),
    case("continuous_fixed_now", "@continuous", "2024-06-01T00:00:00", catchup=False, steps=3),
    case("continuous_future", "@continuous", "2024-07-01T00:00:00", catchup=False, steps=3),
    case("continuous_end_date", "@continuous", "2024-06-01T00:00:00", catchup=False, steps=3,
         end="2024-06-12T10:25:00", advance=60),
    case("none", None, "2024-06-01T00:00:00", steps=2, manual=["2024-06-12T10:23:45+00:00"]),
    case("default_schedule", "default", "2024-06-01T00:00:00", catchup=True, steps=3,
         manual=["2024-06-12T10:23:45+00:00"]),
]

# (expression, timezone, points in UTC) for CronMixin's primitives.
PRIMITIVES = [
    ("30 2 * * *", "Europe/Amsterdam", ["2024-03-30T23:00:00", "2024-03-31T00:30:00",
                                        "2024-03-31T01:30:00", "2024-10-27T00:00:00",
                                        "2024-10-27T00:30:00", "2024-10-27T01:30:00"]),
    ("*/20 * * * *", "Europe/Amsterdam", ["2024-03-31T00:50:00", "2024-03-31T01:00:00",
                                          "2024-10-27T00:40:00", "2024-10-27T01:00:00",
                                          "2024-10-27T01:10:00", "2024-10-27T01:20:00.5"]),
    ("0 * * * *", "America/New_York", ["2024-11-03T05:00:00", "2024-11-03T05:30:00",
                                       "2024-11-03T06:00:00", "2024-03-10T06:30:00",
                                       "2024-03-10T07:00:00"]),
    ("0 1 * * *", "America/New_York", ["2024-11-03T04:00:00", "2024-11-03T05:00:00",
                                       "2024-11-03T05:30:00", "2024-11-03T06:00:00"]),
    ("15 10 * * 1-5", "UTC", ["2024-06-14T10:15:00", "2024-06-14T10:15:00.000001",
                              "2024-06-15T00:00:00", "2024-06-17T10:14:59.999999"]),
]


def prepare_env():
    if not os.environ.get("AIRFLOW_HOME"):
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-timetables-")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    home = os.environ["AIRFLOW_HOME"]
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")


def iso(d):
    if d is None:
        return None
    return dt.datetime.fromtimestamp(d.timestamp(), UTC).replace(
        microsecond=d.microsecond).isoformat()


def parse_utc(s):
    return dt.datetime.fromisoformat(s).astimezone(UTC)


class Airflow:
    """The version-specific imports."""

    def __init__(self):
        import airflow
        import pendulum
        from airflow.configuration import conf
        from airflow.serialization.serialized_objects import SerializedDAG
        from airflow.timetables import interval, simple, trigger
        from airflow.timetables.base import DataInterval

        self.version = airflow.__version__
        self.major = int(self.version.split(".")[0])
        self.pendulum, self.conf, self.SerializedDAG = pendulum, conf, SerializedDAG
        self.DataInterval = DataInterval
        self.modules = [interval, simple, trigger]
        if self.major >= 3:
            from airflow.sdk import DAG
        else:
            from airflow.models.dag import DAG
        self.DAG = DAG
        self.trigger, self.interval = trigger, interval

    def freeze(self, now):
        """Make every ``utcnow()`` the timetables call return ``now``."""
        frozen = self.pendulum.instance(now)

        def utcnow():
            return frozen

        for mod in self.modules:
            if hasattr(mod, "utcnow"):
                mod.utcnow = utcnow
            tzmod = getattr(mod, "timezone", None)
            if tzmod is not None and hasattr(tzmod, "utcnow"):
                tzmod.utcnow = utcnow

    def schedule_value(self, spec, tz):
        """(Airflow ``schedule`` argument or a marker for "omitted", contract schedule, trigger extras)."""
        from dateutil.relativedelta import relativedelta

        presets = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0",
                   "@monthly": "0 0 1 * *", "@quarterly": "0 0 1 */3 *", "@yearly": "0 0 1 1 *"}
        if spec == "default":
            return "OMIT", {"type": "default"}, None
        if spec is None:
            return None, {"type": "none"}, None
        if spec == "@once":
            return spec, {"type": "once"}, None
        if spec == "@continuous":
            return spec, {"type": "continuous"}, None
        if isinstance(spec, str):
            return spec, {"type": "cron", "expr": presets.get(spec, spec),
                          "preset": spec if spec in presets else None, "timezone": tz,
                          "timetable": None}, None
        if "delta" in spec:
            return dt.timedelta(seconds=spec["delta"]), {"type": "delta", "seconds": spec["delta"],
                                                         "timetable": None}, None
        if "relativedelta" in spec:
            return relativedelta(**spec["relativedelta"]), {"type": "relativedelta",
                                                           "value": spec["relativedelta"]}, None
        if "cron_data_interval" in spec:
            expr = spec["cron_data_interval"]
            return self.interval.CronDataIntervalTimetable(expr, tz), {
                "type": "cron", "expr": expr, "preset": None, "timezone": tz,
                "timetable": "data_interval"}, None
        extras = {"interval": spec.get("interval", 0.0)}
        kwargs = {"interval": dt.timedelta(seconds=extras["interval"])}
        if "run_immediately" in spec:
            ri = spec["run_immediately"]
            extras["run_immediately"] = ri
            kwargs["run_immediately"] = dt.timedelta(seconds=ri) if isinstance(ri, float) else ri
        if "delta_trigger" in spec:
            secs = spec["delta_trigger"]
            return self.trigger.DeltaTriggerTimetable(dt.timedelta(seconds=secs), **kwargs), {
                "type": "delta", "seconds": secs, "timetable": "trigger"}, extras
        expr = spec["cron_trigger"]
        return self.trigger.CronTriggerTimetable(expr, timezone=tz, **kwargs), {
            "type": "cron", "expr": expr, "preset": None, "timezone": tz,
            "timetable": "trigger"}, extras

    def build(self, c):
        os.environ["AIRFLOW__SCHEDULER__CREATE_CRON_DATA_INTERVALS"] = str(c["data_intervals"])
        if c["tz"][0] in "+-":
            hours, minutes = c["tz"][1:].split(":")
            sign = -1 if c["tz"][0] == "-" else 1
            tz = self.pendulum.FixedTimezone(sign * (int(hours) * 3600 + int(minutes) * 60))
        else:
            tz = self.pendulum.timezone(c["tz"])
        kwargs = {}
        if c["start"]:
            kwargs["start_date"] = self.pendulum.parse(c["start"], tz=tz)
        if c["end"]:
            kwargs["end_date"] = self.pendulum.parse(c["end"], tz=tz)
        if c["catchup"] is not None:
            kwargs["catchup"] = c["catchup"]
        value, contract, extras = self.schedule_value(c["spec"], c["tz"])
        if not (isinstance(value, str) and value == "OMIT"):  # relativedelta's != is broken
            kwargs["schedule"] = value
        if c["spec"] == "@continuous":
            kwargs["max_active_runs"] = 1
        dag = self.DAG(f"golden_{c['name']}", **kwargs)
        return dag, self.SerializedDAG.from_dict(self.SerializedDAG.to_dict(dag)), contract, extras


def run_case(af, c):
    dag, sdag, contract, extras = af.build(c)
    tt = sdag.timetable
    now = parse_utc(c["now"])
    last = None
    if c["last"]:
        last = af.DataInterval(*(af.pendulum.instance(parse_utc(x)) for x in c["last"]))
    runs = []
    for _ in range(c["steps"]):
        af.freeze(now)
        info = sdag.next_dagrun_info(last)
        if info is None:
            runs.append(None)
            break
        runs.append({"logical_date": iso(info.logical_date), "start": iso(info.data_interval.start),
                     "end": iso(info.data_interval.end), "run_after": iso(info.run_after),
                     "now": iso(now)})
        last = info.data_interval
        if c["advance"]:
            now = max(now, info.run_after + dt.timedelta(seconds=c["advance"]))
    manual = []
    for ra in c["manual"]:
        di = tt.infer_manual_data_interval(run_after=af.pendulum.instance(parse_utc(ra)))
        manual.append({"run_after": iso(parse_utc(ra)), "start": iso(di.start), "end": iso(di.end)})
    start = sdag.start_date
    end = sdag.end_date
    return {
        "name": c["name"],
        "schedule": contract,
        "trigger": extras,
        "timezone": c["tz"],
        "start_date": iso(start),
        "end_date": iso(end),
        "catchup": c["catchup"],
        "catchup_by_default": af.conf.getboolean("scheduler", "catchup_by_default"),
        "create_cron_data_intervals": c["data_intervals"],
        "effective_catchup": sdag.catchup,
        "timetable": type(tt).__name__,
        "summary": tt.summary,
        "description": getattr(tt, "description", ""),
        "now": iso(parse_utc(c["now"])),
        "advance": c["advance"],
        "last": [iso(parse_utc(x)) for x in c["last"]] if c["last"] else None,
        "runs": runs,
        "manual": manual,
    }


def primitives(af):
    out = []
    for expr, tzname, points in PRIMITIVES:
        tt = af.interval.CronDataIntervalTimetable(expr, af.pendulum.timezone(tzname))
        rows = []
        for p in points:
            at = af.pendulum.instance(parse_utc(p + "+00:00"))
            rows.append({"at": iso(at), "next": iso(tt._get_next(at)), "prev": iso(tt._get_prev(at)),
                         "align_next": iso(tt._align_to_next(at)),
                         "align_prev": iso(tt._align_to_prev(at))})
        out.append({"expr": expr, "timezone": tzname, "points": rows})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    args = ap.parse_args()
    prepare_env()
    af = Airflow()
    # "never_fires" makes Airflow log a traceback (it then returns no run); keep output clean.
    logging.disable(logging.CRITICAL)
    cases = [run_case(af, c) for c in CASES if c["only"] in (None, af.major)]
    from importlib.metadata import version

    doc = {
        "airflow_version": af.version,
        "dialect": "3" if af.major >= 3 else "2",
        "versions": {"python": platform.python_version(), "pendulum": version("pendulum"),
                     "croniter": version("croniter"), "python-dateutil": version("python-dateutil")},
        "cases": cases,
        "cron_primitives": primitives(af),
    }
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
