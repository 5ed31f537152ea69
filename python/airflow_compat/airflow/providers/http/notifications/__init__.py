"""``airflow.providers.http.notifications``."""
from airflow.providers.http.notifications.http import HttpNotifier, send_http_notification  # noqa: F401
