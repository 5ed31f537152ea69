"""``airflow.providers.http.notifications.http``: HttpNotifier, the HTTP
provider's notifier. As a HITL operator's ``notifiers=`` entry the Updraft
worker calls it natively when the request is created: it sends ``method`` to
the connection's URL + ``endpoint`` with ``json`` (or ``data``) as the body,
or, when both are unset, the request event (subject, body, link, ids,
options; docs/hitl.md). Elsewhere (callbacks) it is not called.
"""
from airflow._updraft.runtime import BaseNotifier


class HttpNotifier(BaseNotifier):
    """Sends an HTTP request to notify an external system."""

    template_fields = ("http_conn_id", "endpoint", "data", "json", "headers", "extra_options")

    def __init__(self, *, http_conn_id="http_default", endpoint=None, method="POST", data=None, json=None,
                 headers=None, extra_options=None, **kwargs):
        super().__init__(**kwargs)
        self.http_conn_id = http_conn_id
        self.endpoint = endpoint
        self.method = method
        self.data = data
        self.json = json
        self.headers = headers
        self.extra_options = extra_options or {}

    def notify(self, context):
        raise NotImplementedError("HttpNotifier runs in the Updraft worker (HITL notifiers), not in Python")


send_http_notification = HttpNotifier
