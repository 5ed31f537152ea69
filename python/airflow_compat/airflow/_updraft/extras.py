"""Small runtime-facing helpers users import from Airflow: macros, date and
timezone utilities, ``LoggingMixin``, ``SkipMixin``, ``import_string`` and
placeholders for database models (``DagRun``, ``TaskInstance``, ...).
"""
import datetime as _dt
import importlib
import logging

from .compat import UTC, pendulum
from .compat import coerce_datetime as _coerce

cron_presets = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}


def days_ago(n, hour=0, minute=0, second=0, microsecond=0):
    """Midnight UTC ``n`` days ago (2.x; removed in 3.0)."""
    today = utcnow().replace(hour=hour, minute=minute, second=second, microsecond=microsecond)
    return today - _dt.timedelta(days=n)


def utcnow():
    if pendulum is not None:
        return pendulum.now("UTC")
    return _dt.datetime.now(_dt.timezone.utc)


def datetime(*args, **kwargs):
    """A timezone-aware datetime (UTC unless ``tzinfo`` is given)."""
    if "tzinfo" not in kwargs:
        kwargs["tzinfo"] = UTC
    return _dt.datetime(*args, **kwargs)


def is_localized(value):
    return value.utcoffset() is not None


def is_naive(value):
    return value.utcoffset() is None


def make_aware(value, timezone=None):
    tz = timezone or UTC
    if value is None:
        return None
    if is_localized(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value}")
    return value.replace(tzinfo=tz)


def make_naive(value, timezone=None):
    tz = timezone or UTC
    if is_naive(value):
        raise ValueError("make_naive() cannot be applied to a naive datetime")
    return value.astimezone(tz).replace(tzinfo=None)


def convert_to_utc(value):
    if value is None:
        return None
    if is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse(string, timezone=None):
    if pendulum is not None:
        return pendulum.parse(string, tz=timezone or UTC, strict=False)
    value = _dt.datetime.fromisoformat(string)
    return value if is_localized(value) else value.replace(tzinfo=timezone or UTC)


def coerce_datetime(value, tz=None):
    value = _coerce(value)
    if value is None:
        return None
    return value if is_localized(value) else value.replace(tzinfo=tz or UTC)


utc = UTC


def ds_add(ds, days):
    if not days:
        return str(ds)
    return (_dt.datetime.strptime(str(ds), "%Y-%m-%d") + _dt.timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds, input_format, output_format):
    return _dt.datetime.strptime(str(ds), input_format).strftime(output_format)


def datetime_diff_for_humans(dt, since=None):
    if pendulum is None:
        return str((since or utcnow()) - dt)
    return pendulum.instance(dt).diff_for_humans(since and pendulum.instance(since))


def import_string(dotted_path):
    try:
        module_path, class_name = dotted_path.rsplit(".", 1)
    except ValueError:
        raise ImportError(f"{dotted_path} doesn't look like a module path") from None
    module = importlib.import_module(module_path)
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ImportError(f'Module "{module_path}" does not define a "{class_name}" attribute/class') from None


class LoggingMixin:
    """Gives ``self.log`` (a standard ``logging`` logger)."""

    @property
    def log(self):
        return logging.getLogger(f"{type(self).__module__}.{type(self).__name__}")


class SkipMixin(LoggingMixin):
    """Marker mixin; skipping is done by Updraft's worker."""

    def skip(self, *args, **kwargs):
        raise NotImplementedError("skip() runs inside Updraft's worker only")


class _DatabaseModel:
    """Placeholder for a metadata-database model: importable for type hints only."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} is a database model; Updraft DAG files cannot create or query it at parse time"
        )


class DagRun(_DatabaseModel):
    pass


class TaskInstance(_DatabaseModel):
    pass


class Pool(_DatabaseModel):
    DEFAULT_POOL_NAME = "default_pool"


class DagModel(_DatabaseModel):
    pass


class DagBag(_DatabaseModel):
    pass


class XCom(_DatabaseModel):
    pass


class BaseOperatorLink:
    """Base class for extra links shown on a task in the UI."""

    name = ""

    def get_link(self, operator, *, ti_key):
        raise NotImplementedError


class AssetWatcher:
    """An asset watcher (3.x event-driven scheduling); recorded, not run."""

    def __init__(self, name, trigger):
        self.name = name
        self.trigger = trigger


def apply_defaults(func):
    """2.x no-op decorator kept for old custom operators (defaults are always applied)."""
    return func
