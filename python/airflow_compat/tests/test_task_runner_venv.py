"""Virtualenv and external-Python tasks in the task runner: the script's
source (decorators removed), the context another interpreter receives, the
venv cache (built once, atomically), return values, output, failures and
skip_on_exit_code, through the fork server end to end."""
import datetime as dt
import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

from tests import test_task_runner as base
from tests.helpers import COMPAT_DIR, DagFileTest

from airflow._updraft.exceptions import AirflowException
from updraft_runtime import task_runner_venv as venv

DAG = """
from datetime import datetime
from airflow import DAG
from airflow.decorators import task
from airflow.operators.python import (BranchPythonVirtualenvOperator, ExternalPythonOperator,
                                      PythonVirtualenvOperator)

CACHE = {cache!r}

def shout(word, ds=None, templates_dict=None):
    import sys
    print("shouting", word, "on", ds, "in", sys.prefix)
    return {{"word": word.upper(), "ds": ds, "t": templates_dict}}

def crash():
    raise ValueError("no luck in the venv")

def leave(code):
    import sys
    sys.exit(code)

def choose():
    return "b"

def outside_packages():
    import sys
    return [p for p in sys.path if "-packages" in p and not p.startswith(sys.prefix)]

def strings():
    return virtualenv_string_args  # noqa: F821 - a global of the script

with DAG(dag_id="v", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonVirtualenvOperator(task_id="shout", python_callable=shout, op_args=["hi"], requirements=[],
                             system_site_packages=False, venv_cache_path=CACHE,
                             templates_dict={{"k": "v"}})
    PythonVirtualenvOperator(task_id="crash", python_callable=crash, venv_cache_path=CACHE,
                             system_site_packages=False)
    ExternalPythonOperator(task_id="leave", python={python!r}, python_callable=leave, op_args=[5],
                           skip_on_exit_code=[5])
    ExternalPythonOperator(task_id="missing", python="/nowhere/python3", python_callable=choose)
    PythonVirtualenvOperator(task_id="system", python_callable=outside_packages, venv_cache_path=CACHE)
    PythonVirtualenvOperator(task_id="isolated", python_callable=outside_packages, venv_cache_path=CACHE,
                             system_site_packages=False)
    PythonVirtualenvOperator(task_id="strings", python_callable=strings, string_args=["a", "b c"],
                             venv_cache_path=CACHE, system_site_packages=False)
    BranchPythonVirtualenvOperator(task_id="pick", python_callable=choose, venv_cache_path=CACHE,
                                   system_site_packages=False)

    @task.external_python(python={python!r},
                          multiple_outputs=True)
    def deco(n, logical_date=None):
        return {{"twice": n * 2, "year": logical_date.year}}

    deco(21)
"""


WHEEL_DAG = """
from datetime import datetime
from airflow import DAG
from airflow.operators.python import PythonVirtualenvOperator

def probe():
    import updraft_probe
    return updraft_probe.VALUE

with DAG(dag_id="w", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonVirtualenvOperator(task_id="probe", python_callable=probe, requirements=[{wheel!r}],
                             pip_install_options=["--no-index"], system_site_packages=False,
                             venv_cache_path={cache!r})
"""


class SourceTest(unittest.TestCase):
    # The TaskFlow decorator (even over several lines) is removed; the body stays.
    def test_task_decorator_is_removed(self):
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
            f.write("import functools\n"
                    "class task:\n"
                    "    @staticmethod\n"
                    "    def virtualenv(**kw):\n"
                    "        return lambda fn: fn\n"
                    "def outer():\n"
                    "    @task.virtualenv(\n"
                    "        requirements=[])\n"
                    "    def inner(x):\n"
                    "        return x + 1\n"
                    "    return inner\n")
        self.addCleanup(os.unlink, f.name)
        module = {}
        with open(f.name) as src:
            exec(compile(src.read(), f.name, "exec"), module)
        source = venv.callable_source(module["outer"]())
        self.assertEqual(source, "def inner(x):\n    return x + 1\n")

    # Only loadable context keys travel; pendulum-like datetimes become plain ones.
    def test_serializable_context(self):
        class Sub(dt.datetime):
            pass

        when = Sub(2026, 3, 4, tzinfo=dt.timezone.utc)
        ctx = venv.serializable_context({"ds": "2026-03-04", "ti": object(), "dag": object(),
                                         "logical_date": when, "inlets": [], "outlets": [object()],
                                         "params": {"a": 1}})
        self.assertEqual(set(ctx), {"ds", "logical_date", "inlets", "params"})
        self.assertIs(type(ctx["logical_date"]), dt.datetime)
        self.assertEqual(ctx["logical_date"], when)


class PipTest(unittest.TestCase):
    # index_urls: the first is the index, the rest extra; [] means no index.
    def test_index_urls_and_options(self):
        spec = {"index_urls": ["https://a/simple", "https://b/simple"], "pip_install_options": ["-q"]}
        self.assertEqual(venv.pip_command("/v", spec, "/v/r.txt")[3:],
                         ["install", "--index-url", "https://a/simple", "--extra-index-url", "https://b/simple",
                          "-q", "-r", "/v/r.txt"])
        self.assertEqual(venv.pip_command("/v", dict(spec, index_urls=[]), "/r")[4:5], ["--no-index"])
        self.assertEqual(venv.pip_command("/v", dict(spec, index_urls=None), "/r")[:5],
                         ["/v/bin/python", "-m", "pip", "install", "-q"])


class SerializerTest(unittest.TestCase):
    # dill / cloudpickle only when installed, else a clear error; others never.
    def test_serializers(self):
        self.assertIs(venv._serializer("pickle"), pickle)
        with self.assertRaisesRegex(AirflowException, "Unsupported serializer 'json'"):
            venv._serializer("json")
        for name in ("dill", "cloudpickle"):
            if importlib.util.find_spec(name) is None:
                with self.assertRaisesRegex(AirflowException, f"needs the '{name}' package"):
                    venv._serializer(name)
            else:
                self.assertEqual(venv._serializer(name).__name__, name)


class VenvServerTest(DagFileTest):
    # The fork server harness of test_task_runner, without its tests.
    _stop = base.TaskRunnerServerTest._stop
    command = base.TaskRunnerServerTest.command
    messages = base.TaskRunnerServerTest.messages

    def setUp(self):
        super().setUp()
        env = dict(os.environ, PYTHONPATH=COMPAT_DIR)
        self.proc = subprocess.Popen([sys.executable, "-m", "updraft_runtime.task_runner"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, cwd="/")
        self.addCleanup(self._stop)
        self.next_id = 0
        self.buf = b""
        self.cache = tempfile.mkdtemp(prefix="updraft_venvs_")
        self.addCleanup(shutil.rmtree, self.cache, True)
        self.path = self.write("v.py", DAG.format(cache=self.cache, python=sys.executable))

    def send(self, task_id, kind="python_virtualenv", **extra):
        return base.TaskRunnerServerTest.send(self, task_id, kind, **extra)

    def result(self, task_id, kind="python_virtualenv", **extra):
        extra.setdefault("dag_id", "v")
        msgs = self.messages(self.send(task_id, kind, **extra), until=120)
        return msgs[-1]["result"], [m["log"] for m in msgs if "log" in m]

    # The value comes back as XCom, the output is in the log, the venv is
    # isolated, and the second run reuses the cached venv.
    def test_value_output_and_cache(self):
        result, logs = self.result("shout")
        self.assertEqual(result["state"], "success", logs)
        self.assertEqual(result["xcoms"], [["return_value", {"word": "HI", "ds": "2026-03-04", "t": {"k": "v"}}]])
        line = next(l for l in logs if l.startswith("shouting hi on 2026-03-04 in "))
        prefix = line.rsplit(" ", 1)[1]
        self.assertTrue(prefix.startswith(self.cache), line)
        self.assertTrue(any("New Python virtual environment created" in l for l in logs), logs)
        venvs = [n for n in os.listdir(self.cache) if n.startswith("venv-") and not n.endswith(".lock")]
        self.assertEqual(venvs, [os.path.basename(prefix)])
        again, logs2 = self.result("shout")
        self.assertEqual(again["state"], "success")
        self.assertTrue(any("Reusing cached Python virtual environment" in l for l in logs2), logs2)
        # Nothing half-built was left beside it.
        self.assertEqual(sorted(os.listdir(self.cache)), sorted([venvs[0], venvs[0] + ".lock"]))

    def test_exception_fails_with_its_message_and_traceback(self):
        result, logs = self.result("crash")
        self.assertEqual(result["state"], "failed")
        self.assertIn("no luck in the venv", result["message"])
        self.assertTrue(any("Traceback" in l for l in logs), logs)

    def test_skip_on_exit_code(self):
        result, _ = self.result("leave", kind="external_python")
        self.assertEqual((result["state"], result["message"]), ("skipped", "Process exited with code 5. Skipping."))
        other, _ = self.result("leave", kind="external_python", rendered={"op_args": [6]})
        self.assertEqual(other["state"], "failed")
        self.assertIn("exit status 6", other["message"])

    def test_external_python_decorated_with_multiple_outputs(self):
        result, logs = self.result("deco", kind="external_python")
        self.assertEqual(result["state"], "success", logs)
        self.assertEqual(sorted(map(tuple, result["xcoms"])),
                         [("return_value", {"twice": 42, "year": 2026}), ("twice", 42), ("year", 2026)])

    def test_missing_interpreter_is_a_clear_failure(self):
        result, _ = self.result("missing", kind="external_python")
        self.assertEqual(result["state"], "failed")
        self.assertIn("Python Path '/nowhere/python3' must exists", result["message"])

    def test_branch_variant_returns_its_choice(self):
        result, _ = self.result("pick", kind="branch_python_virtualenv")
        self.assertEqual((result["state"], result["returned"]), ("success", "b"))

    # system_site_packages (the default) sees the base interpreter's packages; False does not.
    def test_system_site_packages(self):
        system, _ = self.result("system")
        self.assertEqual(system["state"], "success")
        self.assertTrue(system["returned"], system)
        isolated, _ = self.result("isolated")
        self.assertEqual(isolated["returned"], [])
        self.assertEqual(len([n for n in os.listdir(self.cache) if n.endswith(".lock")]), 2)

    def test_string_args_are_a_global_of_the_script(self):
        result, _ = self.result("strings")
        self.assertEqual(result["returned"], ["a", "b c"])

    # requirements are installed with pip (offline here: a wheel built by
    # hand, --no-index from pip_install_options).
    def test_requirements_are_installed(self):
        wheel = os.path.join(self.folder, "updraft_probe-1.0-py3-none-any.whl")
        info = "updraft_probe-1.0.dist-info"
        files = {
            "updraft_probe/__init__.py": "VALUE = 7\n",
            f"{info}/METADATA": "Metadata-Version: 2.1\nName: updraft-probe\nVersion: 1.0\n",
            f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
        with zipfile.ZipFile(wheel, "w") as z:
            for name, text in files.items():
                z.writestr(name, text)
        path = self.write("w.py", WHEEL_DAG.format(wheel=wheel, cache=self.cache))
        result, logs = self.result("probe", fileloc=path, dag_id="w")
        self.assertEqual(result["state"], "success", logs)
        self.assertEqual(result["xcoms"], [["return_value", 7]])

    def test_unknown_python_version_is_a_clear_failure(self):
        # A rendered field cannot change python_version; a fresh DAG does.
        self.write("v.py", DAG.format(cache=self.cache, python="/usr/bin/python3").replace(
            'task_id="pick", python_callable=choose,', 'task_id="pick", python_callable=choose, python_version="1.9",'))
        result, _ = self.result("pick", kind="branch_python_virtualenv")
        self.assertEqual(result["state"], "failed")
        self.assertIn("no interpreter python1.9 found", result["message"])


if __name__ == "__main__":
    unittest.main()
