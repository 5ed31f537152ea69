"""The Python task runner's pieces: the context and determine_kwargs, the
tagged decoding of rendered fields, the child's result mapping, and the fork
server end to end (results, streamed logs, masks, crash, timeout, cancel,
sensor pokes)."""
import datetime as dt
import json
import os
import select
import subprocess
import sys
import time
import unittest

from tests.helpers import COMPAT_DIR, DagFileTest

from airflow._updraft.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException
from updraft_runtime import task_runner_child as child
from updraft_runtime import task_runner_context as trc

DAG = """
import time
from datetime import datetime
from airflow import DAG
from airflow.decorators import task
from airflow.models import Variable
from airflow.operators.python import BranchPythonOperator
from airflow.sensors.python import PythonSensor
from airflow.sensors.base import PokeReturnValue

def choose(**kwargs):
    return ["a", "b"]

with DAG(dag_id="d", schedule=None, start_date=datetime(2026, 1, 1)):
    @task
    def hello(x, ds=None, params=None):
        print("hello", x, ds)
        return {"x": x, "ds": ds, "p": params}

    @task
    def secret():
        print("v=" + Variable.get("db_password"))

    @task
    def hang():
        print("hanging", flush=True)
        time.sleep(60)

    @task.sensor(poke_interval=1)
    def ready(n):
        return PokeReturnValue(is_done=n > 1, xcom_value={"n": n})

    @task
    def current():
        from airflow.operators.python import get_current_context
        import os
        return get_current_context()["ti"].task_id + "@" + get_current_context()["ds"] + "/" + \
            os.environ["AIRFLOW_CTX_DAG_RUN_ID"]

    PythonSensor(task_id="plain_sensor", python_callable=lambda: 0)
    BranchPythonOperator(task_id="branch", python_callable=choose)
    hello(1)
    secret()
    hang()
    ready(1)
    current()
"""


class DetermineKwargsTest(unittest.TestCase):
    # Airflow's KeywordParameters.determine: only declared names, unless **kwargs.
    def test_only_declared_names_unless_var_kwargs(self):
        ctx = {"ds": "d", "ti": "t", "x": 1}
        self.assertEqual(child.determine_kwargs(lambda x, ds: 0, [], ctx), {"ds": "d", "x": 1})
        self.assertEqual(child.determine_kwargs(lambda **kw: 0, [], ctx), ctx)

    def test_positional_name_clashing_with_context_is_an_error(self):
        with self.assertRaises(ValueError):
            child.determine_kwargs(lambda ds: 0, ["x"], {"ds": "d"})

    # Airflow 2.10 also checks keyword-only names among the first len(args)
    # parameters; Airflow 3 skips them (example_python_operators' callable).
    def test_keyword_only_names_clash_in_2x_only(self):
        def fn(currency, *items, discount=0.0, **context):
            return discount

        args = ["EUR", 1.0, 2.0]
        with self.assertRaises(ValueError):
            child.determine_kwargs(fn, args, {"discount": 0.1})
        self.assertEqual(child.determine_kwargs(fn, args, {"discount": 0.1}, "3"), {"discount": 0.1})


class DecodeTest(unittest.TestCase):
    def test_tagged_values_decode(self):
        v = trc.decode({"when": {"__type": "datetime", "__var": "2026-01-02T03:04:05+00:00"},
                        "t": {"__type": "tuple", "__var": [1, 2]},
                        "d": {"__type": "timedelta", "__var": 90.0}})
        self.assertEqual(v["when"], dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
        self.assertEqual(v["t"], (1, 2))
        self.assertEqual(v["d"], dt.timedelta(seconds=90))

    # A callable or repr-tagged value keeps the DAG file's own object.
    def test_non_round_trippable_values_keep_the_original(self):
        fn = len
        rendered = [{"__type": "callable", "__var": "builtins.len"}, "text"]
        self.assertEqual(trc.decode(rendered, [fn, "{{ x }}"]), [fn, "text"])


class FailureTest(unittest.TestCase):
    # Skip → skipped; Fail/SensorTimeout → no retry; anything else → retry.
    def test_exception_mapping(self):
        self.assertEqual(child.failure(AirflowSkipException("s"))["state"], "skipped")
        self.assertEqual(child.failure(AirflowFailException("f"))["state"], "failed_no_retry")
        self.assertEqual(child.failure(AirflowSensorTimeout("t"))["state"], "failed_no_retry")
        self.assertEqual(child.failure(ValueError("v"))["state"], "failed")
        self.assertIn("sys.exit(2)", child.failure(SystemExit(2))["message"])


class ContextTest(DagFileTest):
    def test_context_keys_and_xcom_pull(self):
        path = self.write("d.py", DAG)
        req = {"fileloc": path, "dag_id": "d", "task_id": "hello", "run_id": "r", "kind": "python",
               "context": {"logical_date": "2026-03-04T00:00:00+00:00", "dialect": "2", "conf": {"c": 1},
                           "params": {"p": 0, "c": 0}},
               "xcoms": [{"task_id": "up", "key": "return_value", "value": {"__type": "tuple", "__var": [1]}}]}
        dag, task = child.load_task(req)
        ctx = trc.build_context(req, dag, task)
        self.assertEqual((ctx["ds"], ctx["ts_nodash"], ctx["run_id"]), ("2026-03-04", "20260304T000000", "r"))
        self.assertEqual(ctx["params"], {"p": 0, "c": 1})  # conf overrides params
        self.assertEqual(ctx["dag_run"].conf, {"c": 1})
        ti = ctx["ti"]
        self.assertEqual(ti.xcom_pull(task_ids="up"), (1,))
        self.assertEqual(ti.xcom_pull(task_ids=["up", "none"]), [(1,), None])
        ti.xcom_push("k", dt.date(2026, 1, 1))
        self.assertEqual(ti.pushes, [["k", {"__type": "date", "__var": "2026-01-01"}]])
        self.assertEqual(ti.xcom_pull(task_ids="hello", key="k"), dt.date(2026, 1, 1))


class TaskRunnerServerTest(DagFileTest):
    def setUp(self):
        super().setUp()
        env = dict(os.environ, PYTHONPATH=COMPAT_DIR)
        self.proc = subprocess.Popen([sys.executable, "-m", "updraft_runtime.task_runner"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, cwd="/")
        self.addCleanup(self._stop)
        self.path = self.write("d.py", DAG)
        self.next_id = 0
        self.buf = b""

    def _stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=20)
        self.proc.stdout.close()

    def send(self, task_id, kind="python", **extra):
        self.next_id += 1
        req = {"fileloc": self.path, "dag_id": "d", "task_id": task_id, "run_id": "r", "kind": kind,
               "context": {"logical_date": "2026-03-04T00:00:00+00:00"}, **extra}
        self.command({"op": "run", "id": self.next_id, "task": req})
        return self.next_id

    def command(self, msg):
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()

    def messages(self, job_id, until=30.0, stop_on=None):
        """Lines for ``job_id`` up to its result."""
        out = []
        deadline = time.monotonic() + until
        fd = self.proc.stdout.fileno()
        while time.monotonic() < deadline:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                msg = json.loads(line)
                if msg["id"] != job_id:
                    continue
                out.append(msg)
                if "result" in msg or (stop_on is not None and stop_on(msg)):
                    return out
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                self.buf += os.read(fd, 1 << 16)  # unbuffered: select sees every byte
        self.fail(f"no result for {job_id}: {out}")

    def test_result_and_logs(self):
        msgs = self.messages(self.send("hello", rendered={"op_args": [5]}))
        logs = [m["log"] for m in msgs if "log" in m]
        self.assertIn("hello 5 2026-03-04", logs)
        result = msgs[-1]["result"]
        self.assertEqual(result["state"], "success")
        self.assertEqual(result["xcoms"], [["return_value", {"x": 5, "ds": "2026-03-04", "p": {}}]])

    # The mask reaches the worker before the line that prints the secret.
    def test_secret_is_reported_before_it_is_printed(self):
        msgs = self.messages(self.send("secret", variables={"db_password": "s3cr3t"}))
        kinds = [("mask", m["mask"]) if "mask" in m else ("log", m.get("log")) for m in msgs if "result" not in m]
        self.assertEqual(kinds[:2], [("mask", "s3cr3t"), ("log", "v=s3cr3t")])

    def test_timeout_kills_the_task(self):
        start = time.monotonic()
        result = self.messages(self.send("hang", timeout=1.0))[-1]["result"]
        self.assertEqual(result["state"], "failed")
        self.assertIn("Timeout", result["message"])
        self.assertLess(time.monotonic() - start, 10)

    def test_cancel_kills_the_task(self):
        job = self.send("hang")
        self.messages(job, stop_on=lambda m: m.get("log") == "hanging")
        self.command({"op": "cancel", "id": job})
        result = self.messages(job)[-1]["result"]
        self.assertEqual(result["state"], "failed")
        self.assertIn("lease", result["message"])

    # A cancel sent right behind the run, before the child could set up its
    # process group, still kills the task.
    def test_cancel_right_after_run_kills_the_task(self):
        for _ in range(5):
            job = self.send("hang")
            self.command({"op": "cancel", "id": job})
            result = self.messages(job, until=10.0)[-1]["result"]
            self.assertIn("lease", result["message"])

    def test_sensor_pokes(self):
        not_yet = self.messages(self.send("ready", kind="python_sensor", mode="poke",
                                          rendered={"op_args": [1]}))[-1]["result"]
        self.assertEqual((not_yet["state"], not_yet["poke"]["done"]), ("success", False))
        done = self.messages(self.send("ready", kind="python_sensor", mode="poke",
                                       rendered={"op_args": [2]}))[-1]["result"]
        self.assertEqual(done["poke"], {"done": True, "xcom": {"n": 2}})
        plain = self.messages(self.send("plain_sensor", kind="python_sensor", mode="poke"))[-1]["result"]
        self.assertEqual(plain["poke"], {"done": False, "xcom": None})

    def test_branch_returns_its_ids(self):
        result = self.messages(self.send("branch", kind="branch_python"))[-1]["result"]
        self.assertEqual(result["returned"], ["a", "b"])
        self.assertEqual(result["xcoms"], [["return_value", ["a", "b"]]])

    # get_current_context() and the AIRFLOW_CTX_* variables work inside a running task.
    def test_current_context_inside_the_task(self):
        result = self.messages(self.send("current"))[-1]["result"]
        self.assertEqual(result["returned"], "current@2026-03-04/r")

    def test_missing_task_fails_clearly(self):
        result = self.messages(self.send("nope"))[-1]["result"]
        self.assertEqual(result["state"], "failed")
        self.assertIn("no longer in DAG", result["message"])


if __name__ == "__main__":
    unittest.main()
