"""``airflow.macros``: the template macros (ds_add, ds_format, ...) and modules exposed to templates."""
from airflow._updraft.extras import datetime_diff_for_humans, ds_add, ds_format  # noqa: F401
import datetime  # noqa: F401,E402
import json  # noqa: F401,E402
import random  # noqa: F401,E402
import time  # noqa: F401,E402
import uuid  # noqa: F401,E402
from datetime import timedelta  # noqa: F401,E402
try:
    import dateutil  # noqa: F401
except ImportError:  # pragma: no cover
    dateutil = None
