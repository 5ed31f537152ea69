"""``Param`` and ``ParamsDict``: DAG/task parameters with a JSON schema.

Updraft validates defaults against the most common JSON-schema keywords
(``type``, ``enum``, ``minimum``/``maximum``, ``minLength``/``maxLength``,
``pattern``) when the DAG is schedulable, as Airflow does at parse time.
"""
import copy
import re

from .compat import NOTSET, ArgNotSet
from .exceptions import ParamValidationError

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _check_schema(value, schema):
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else list(types)
        if not any(_TYPES.get(t, lambda v: True)(value) for t in types):
            raise ParamValidationError(f"{value!r} is not of type {' or '.join(repr(t) for t in types)}")
    if "enum" in schema and value not in schema["enum"]:
        raise ParamValidationError(f"{value!r} is not one of {schema['enum']!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise ParamValidationError(f"{value!r} is less than the minimum of {schema['minimum']!r}")
        if "maximum" in schema and value > schema["maximum"]:
            raise ParamValidationError(f"{value!r} is greater than the maximum of {schema['maximum']!r}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise ParamValidationError(f"{value!r} is too short")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise ParamValidationError(f"{value!r} is too long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise ParamValidationError(f"{value!r} does not match {schema['pattern']!r}")


class Param:
    """A parameter with a default ``value``, a ``description`` and a JSON schema."""

    __version__ = 1
    CLASS_IDENTIFIER = "__class"

    def __init__(self, default=NOTSET, description=None, **kwargs):
        if isinstance(default, Param):
            description = description or default.description
            kwargs = {**default.schema, **kwargs}
            default = default.value
        self.value = default
        self.description = description
        self.schema = kwargs.pop("schema") if "schema" in kwargs else kwargs

    def __copy__(self):
        return Param(self.value, self.description, schema=dict(self.schema))

    def __repr__(self):
        return f"Param({self.value!r}, description={self.description!r}, schema={self.schema!r})"

    def resolve(self, value=NOTSET, suppress_exception=False):
        final = self.value if value is NOTSET else value
        try:
            if isinstance(final, ArgNotSet):
                raise ParamValidationError("No value passed and Param has no default value")
            _check_schema(final, self.schema)
        except ParamValidationError:
            if suppress_exception:
                return None
            raise
        return final

    def dump(self):
        return {"value": None if isinstance(self.value, ArgNotSet) else self.value,
                "description": self.description, "schema": self.schema}

    @property
    def has_value(self):
        return not isinstance(self.value, ArgNotSet)


class ParamsDict(dict):
    """A dict whose values are always ``Param`` objects (plain values are wrapped)."""

    def __init__(self, dict_obj=None, suppress_exception=False):
        super().__init__()
        self.suppress_exception = suppress_exception
        for k, v in (dict_obj or {}).items():
            self[k] = v

    def __setitem__(self, key, value):
        if not isinstance(value, Param):
            value = Param(value)
        super().__setitem__(key, value)

    def update(self, other=(), **kwargs):
        items = other.items() if hasattr(other, "items") else other
        for k, v in items:
            self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def __copy__(self):
        return ParamsDict({k: copy.copy(v) for k, v in self.items()}, self.suppress_exception)

    def get_param(self, key):
        return super().__getitem__(key)

    def dump(self):
        return {k: v.resolve(suppress_exception=True) for k, v in self.items()}

    def validate(self):
        resolved = {}
        for k, v in self.items():
            try:
                resolved[k] = v.resolve(suppress_exception=False)
            except ParamValidationError as e:
                raise ParamValidationError(f"Invalid input for param {k}: {e}") from None
        return resolved


def merge_params(*sources):
    """Merge several params mappings (later wins) into a new ``ParamsDict``."""
    out = ParamsDict()
    for src in sources:
        if src:
            for k, v in src.items():
                out[k] = copy.copy(v) if isinstance(v, Param) else v
    return out


class DagParam:
    """What a ``@dag`` function receives for each of its arguments.

    At run time it resolves to ``dag_run.conf[name]`` or the param's default.
    """

    def __init__(self, current_dag, name, default=NOTSET):
        if default is not NOTSET:
            current_dag.params[name] = default
        self._name = name
        self._default = default

    def __repr__(self):
        return f"DagParam({self._name!r})"


Param.__module__ = ParamsDict.__module__ = DagParam.__module__ = "airflow.models.param"
