"""``airflow.utils.timezone``: timezone-aware datetime helpers."""
from airflow._updraft.extras import convert_to_utc, coerce_datetime, datetime, is_localized, is_naive, make_aware, make_naive, parse, utc, utcnow  # noqa: F401
