"""Shared test helpers: write a DAG file into a temporary dags folder, parse
it in-process with ``parse_file`` and index the serialized tasks."""
import os
import shutil
import sys
import tempfile
import textwrap
import unittest

COMPAT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if COMPAT_DIR not in sys.path:
    sys.path.insert(0, COMPAT_DIR)

from updraft_runtime.parse import parse_file  # noqa: E402

SEED_DAG = "/work/shared/seed/software_factory_pipeline.py"


class DagFileTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="updraft_test_")
        self.addCleanup(shutil.rmtree, self.folder, True)

    def write(self, name, source):
        path = os.path.join(self.folder, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(source))
        return path

    def parse(self, source, name="dag_file.py"):
        return parse_file(self.write(name, source), self.folder)

    def parse_ok(self, source, name="dag_file.py"):
        result = self.parse(source, name)
        if not result["ok"]:
            self.fail(f"parse failed: {result['error']['message']}\n{result['error']['traceback']}")
        return result

    def dag(self, source, name="dag_file.py"):
        result = self.parse_ok(source, name)
        self.assertEqual(len(result["dags"]), 1, [d["dag_id"] for d in result["dags"]])
        return result["dags"][0]

    def tasks(self, source, name="dag_file.py"):
        return {t["task_id"]: t for t in self.dag(source, name)["tasks"]}

    def parse_error(self, source, name="dag_file.py"):
        result = self.parse(source, name)
        self.assertFalse(result["ok"], "expected the parse to fail")
        self.assertEqual(result["dags"], [])
        return result["error"]
