"""Small shared helpers: the NOTSET sentinel, optional pendulum, time values.

pendulum is optional: when it is importable (2.x or 3.x) datetimes built by
helpers are pendulum objects, as in Airflow; otherwise plain ``datetime``
objects with ``datetime.timezone.utc`` are used.
"""
import datetime as _dt

try:  # pragma: no cover - depends on the machine
    import pendulum
except Exception:  # noqa: BLE001 - pendulum is optional
    pendulum = None


class ArgNotSet:
    """Sentinel type for "argument not given" (Airflow's ``NOTSET``)."""

    __slots__ = ()

    def __repr__(self):
        return "NOTSET"

    def __bool__(self):
        return False


NOTSET = ArgNotSet()
UTC = pendulum.timezone("UTC") if pendulum is not None else _dt.timezone.utc


def utcnow():
    if pendulum is not None:
        return pendulum.now("UTC")
    return _dt.datetime.now(_dt.timezone.utc)


def as_timedelta(value, name):
    """Accept a timedelta or a number of seconds; ``None`` stays ``None``."""
    if value is None or isinstance(value, _dt.timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.timedelta(seconds=value)
    raise TypeError(f"{name} must be a timedelta or a number of seconds, got {type(value).__name__}")


def coerce_datetime(value, name="date"):
    """Dates stay as given (naive means UTC); strings are parsed as ISO 8601."""
    if value is None or isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc)
    if isinstance(value, str):
        if pendulum is not None:
            return pendulum.parse(value)
        return _dt.datetime.fromisoformat(value)
    raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")


def tz_name(tz):
    """The name Airflow shows for a tzinfo: IANA name, ``UTC`` or ``+02:00``."""
    if tz is None:
        return "UTC"
    for attr in ("name", "key", "zone"):
        name = getattr(tz, attr, None)
        if isinstance(name, str) and name:
            return name
    if tz is _dt.timezone.utc:
        return "UTC"
    offset = tz.utcoffset(None)
    if offset is None:
        return str(tz)
    if not offset:
        return "UTC"
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{sign}{total // 3600:02d}:{total % 3600 // 60:02d}"


def make_timezone(value):
    """A tzinfo from a name (``"Europe/Paris"``), a tzinfo, or ``None`` (UTC)."""
    if value is None:
        return UTC
    if isinstance(value, str):
        if pendulum is not None:
            return pendulum.timezone(value)
        if value.upper() == "UTC":
            return _dt.timezone.utc
        import zoneinfo

        return zoneinfo.ZoneInfo(value)
    return value
