"""The meta-path finder that turns an import of an ``airflow.*`` module Updraft
does not provide into a clear ``ModuleNotFoundError``.

It sits after the normal finders, so it only sees names nothing else found.
The message names the module the DAG file asked for (not just the first
missing parent package) and says what is supported.
"""
import sys

from .exceptions import UnsupportedAirflowModule

SUPPORTED = (
    "core Airflow 2.x/3.x authoring modules, airflow.providers.standard, airflow.providers.apache.kafka, "
    "airflow.providers.common.compat"
)
DOC = "docs/airflow-compatibility.md"


def unsupported_message(name):
    head = f"Updraft does not provide {name!r}. " if name else ""
    return f"{head}Supported: {SUPPORTED}. See {DOC}"


def _requested_name(fullname):
    """The longest module name being imported that starts with ``fullname``."""
    best = fullname
    frame = sys._getframe(2)
    depth = 0
    while frame is not None and depth < 40:
        code = frame.f_code
        if code.co_name == "find_spec" and code.co_filename.endswith(("util.py", "importlib.util>")):
            return None  # importlib.util.find_spec probing: answer "not found"
        if code.co_filename.startswith("<frozen importlib"):
            name = frame.f_locals.get("name")
            if isinstance(name, str) and name.startswith(fullname + ".") and len(name) > len(best):
                best = name
        frame = frame.f_back
        depth += 1
    return best


class UnsupportedAirflowFinder:
    """Raises for ``airflow.*`` names that no other finder could locate."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if not fullname.startswith("airflow."):
            return None
        name = _requested_name(fullname)
        if name is None:
            return None
        raise UnsupportedAirflowModule(unsupported_message(name), name=name)

    @classmethod
    def invalidate_caches(cls):
        pass


def install():
    if not any(f is UnsupportedAirflowFinder for f in sys.meta_path):
        sys.meta_path.append(UnsupportedAirflowFinder)
