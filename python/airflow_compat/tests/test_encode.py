"""The tagged JSON encoding of docs/serialized-dag.md."""
import datetime as dt
import functools
import unittest

from tests import helpers  # noqa: F401
from airflow._updraft.encode import encode
from airflow.models.param import Param
from airflow.sdk import Asset, literal


def some_function():
    pass


class Opaque:
    def __repr__(self):
        return "Opaque()"


class EncodeTest(unittest.TestCase):
    def test_plain_values_pass_through(self):
        v = {"s": "x", "i": 1, "f": 1.5, "b": True, "n": None, "l": [1, "a"], "d": {"k": [None]}}
        self.assertEqual(encode(v), v)

    def test_tagged_values(self):
        from dateutil.relativedelta import relativedelta

        self.assertEqual(encode(dt.datetime(2026, 1, 1)), {"__type": "datetime", "__var": "2026-01-01T00:00:00+00:00"})
        self.assertEqual(encode(dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
                         {"__type": "datetime", "__var": "2026-01-01T00:00:00+02:00"})
        self.assertEqual(encode(dt.date(2026, 1, 2)), {"__type": "date", "__var": "2026-01-02"})
        self.assertEqual(encode(dt.timedelta(minutes=5)), {"__type": "timedelta", "__var": 300.0})
        self.assertEqual(encode(relativedelta(months=1, days=2)),
                         {"__type": "relativedelta", "__var": {"months": 1, "days": 2}})
        self.assertEqual(encode({"b", "a"}), {"__type": "set", "__var": ["a", "b"]})
        self.assertEqual(encode((1, 2)), {"__type": "tuple", "__var": [1, 2]})
        self.assertEqual(encode(some_function), {"__type": "callable", "__var": "tests.test_encode.some_function"})
        self.assertEqual(encode(functools.partial(some_function))["__var"], "tests.test_encode.some_function")
        self.assertEqual(encode(lambda: 1)["__var"], "tests.test_encode.EncodeTest.test_tagged_values.<locals>.<lambda>")
        self.assertEqual(encode(Param(3, description="d", type="integer")),
                         {"__type": "param", "__var": {"value": 3, "description": "d", "schema": {"type": "integer"}}})
        self.assertEqual(encode(Asset("s3://x", group="g", extra={"a": 1})),
                         {"__type": "asset", "__var": {"name": "s3://x", "uri": "s3://x", "group": "g",
                                                       "extra": {"a": 1}}})
        self.assertEqual(encode(literal("{{ x }}")), {"__type": "literal", "__var": "{{ x }}"})
        self.assertEqual(encode(Opaque()), {"__type": "repr", "__var": {"class": "tests.test_encode.Opaque",
                                                                         "repr": "Opaque()"}})
        self.assertEqual(encode(float("nan"))["__type"], "repr")
        self.assertEqual(encode({1: "x"})["__type"], "repr")

    def test_pendulum_values(self):
        import pendulum

        self.assertEqual(encode(pendulum.datetime(2026, 1, 1, tz="UTC"))["__var"], "2026-01-01T00:00:00+00:00")
        self.assertEqual(encode(pendulum.duration(hours=1)), {"__type": "timedelta", "__var": 3600.0})


if __name__ == "__main__":
    unittest.main()
