"""parse_file: the article DAG, warnings, errors with lines, dialects,
determinism and the parse-time stand-ins (Variable, Connection, conf)."""
import json
import os
import unittest

from tests.helpers import SEED_DAG, DagFileTest, parse_file
from updraft_runtime.serialize import dumps


class ArticleDagTest(unittest.TestCase):
    def setUp(self):
        self.result = parse_file(SEED_DAG, os.path.dirname(SEED_DAG))

    def test_loads_unchanged(self):
        # Invariant: the article's DAG file loads as written.
        r = self.result
        self.assertTrue(r["ok"], r["error"])
        (d,) = r["dags"]
        self.assertEqual(d["dag_id"], "software_factory_pipeline")
        self.assertEqual(d["schedule"], {"type": "none"})
        self.assertEqual(d["start_date"], "2026-01-01T00:00:00+00:00")
        self.assertIs(d["catchup"], False)
        self.assertEqual(d["owner"], "factory")
        self.assertEqual(d["default_args"], {"owner": "factory", "retries": 2,
                                             "retry_delay": {"__type": "timedelta", "__var": 300.0}})
        self.assertEqual(d["dialect"], "2")
        t = {x["task_id"]: x for x in d["tasks"]}
        self.assertEqual(list(t), ["deploy", "generate_code", "ingest_spec", "quality_gate"])  # sorted
        g = t["generate_code"]
        self.assertEqual((g["task_type"], g["operator_module"], g["operator_kind"], g["is_custom"]),
                         ("KafkaProduceOperator", "airflow.providers.apache.kafka.operators.kafka_produce",
                          "kafka_produce", False))
        self.assertEqual((g["upstream_task_ids"], g["downstream_task_ids"]), (["ingest_spec"], ["quality_gate"]))
        self.assertEqual((g["retries"], g["retry_delay"], g["owner"]), (2, 300.0, "factory"))
        self.assertEqual(g["fields"]["topic"], "code-artifacts")
        self.assertEqual(g["fields"]["value"], "{{ task_instance.xcom_pull(task_ids='ingest') }}")
        self.assertIsNone(g["fields"]["key"])
        self.assertEqual(t["ingest_spec"]["operator_kind"], "kafka_consume")
        self.assertEqual(t["ingest_spec"]["fields"]["topics"], ["jira-events"])

    def test_two_xcom_pull_warnings(self):
        warnings = self.result["warnings"]
        self.assertEqual(len(warnings), 2, warnings)
        self.assertEqual([(w["task_id"], w["kind"]) for w in warnings],
                         [("deploy", "xcom_pull_unknown_task"), ("generate_code", "xcom_pull_unknown_task")])
        self.assertIn("'run_quality_gate'", warnings[0]["message"])
        self.assertIn("Did you mean 'quality_gate'?", warnings[0]["message"])
        self.assertIn("'ingest'", warnings[1]["message"])
        self.assertTrue(all(w["dag_id"] == "software_factory_pipeline" for w in warnings))

    def test_deterministic(self):
        # Invariant: the same file gives byte-identical JSON.
        again = parse_file(SEED_DAG, os.path.dirname(SEED_DAG))
        self.assertEqual(dumps(self.result["dags"]), dumps(again["dags"]))
        self.assertEqual(self.result["warnings"], again["warnings"])


class WarningsTest(DagFileTest):
    def test_xcom_pull_forms(self):
        result = self.parse_ok("""
from airflow import DAG
from airflow.operators.bash import BashOperator
with DAG("w") as dag:
    BashOperator(task_id="a", bash_command="{{ ti.xcom_pull(task_ids=['a', 'nope1']) }}")
    BashOperator(task_id="b", bash_command='{{ ti.xcom_pull("nope2") }} {{ ti.xcom_pull(task_ids="a") }}')
    BashOperator(task_id="c", bash_command="{{ ti.xcom_pull(task_ids='x', dag_id='other') }}",
                 env={"K": "{{ ti.xcom_pull(task_ids='nope3') }}"})
""")
        msgs = [w["message"] for w in result["warnings"]]
        self.assertEqual(len(msgs), 3, msgs)
        self.assertTrue(any("'nope1'" in m for m in msgs))
        self.assertTrue(any("'nope2'" in m for m in msgs))
        self.assertTrue(any("'nope3'" in m and "field 'env'" in m for m in msgs))


class ErrorsTest(DagFileTest):
    def test_syntax_error_line(self):
        err = self.parse_error("from airflow import DAG\n\ndef broken(:\n    pass\n")
        self.assertEqual(err["kind"], "exception")
        self.assertEqual(err["line"], 3)
        self.assertIn("SyntaxError", err["message"])

    def test_exception_line_and_trimmed_traceback(self):
        err = self.parse_error("""
from airflow import DAG
x = 1
raise RuntimeError("boom")
""")
        self.assertEqual(err["line"], 4)
        self.assertEqual(err["message"], "RuntimeError: boom")
        self.assertIn('dag_file.py", line 4', err["traceback"])
        self.assertNotIn("updraft_runtime", err["traceback"])

    def test_error_inside_helper_module_reports_import_line(self):
        self.write("bad_helper_mod.py", "VALUE = 1 / 0\n")
        err = self.parse_error("import os\nimport bad_helper_mod\n")
        self.assertEqual(err["line"], 2)
        self.assertIn("ZeroDivisionError", err["message"])
        self.assertIn("bad_helper_mod.py", err["traceback"])

    def test_error_inside_compat_package_reports_dag_line(self):
        err = self.parse_error("""
from airflow import DAG
from airflow.operators.bash import BashOperator
with DAG("x"):
    BashOperator(task_id="a b", bash_command="x")
""")
        self.assertEqual(err["line"], 5)
        self.assertNotIn("_updraft", err["traceback"])

    def test_sys_exit(self):
        err = self.parse_error("import sys\nsys.exit(3)\n")
        self.assertEqual(err["kind"], "exit")
        self.assertEqual(err["line"], 2)
        self.assertIn("sys.exit(3)", err["message"])

    def test_unsupported_import(self):
        err = self.parse_error("from airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator\n")
        self.assertEqual(err["kind"], "import_unsupported")
        self.assertEqual(err["line"], 1)
        self.assertIn("Updraft does not provide 'airflow.providers.amazon.aws.operators.s3'", err["message"])

    def test_state_is_reset_between_parses(self):
        # Invariant: a failed parse does not leak an open DAG context into the next one.
        self.parse_error("from airflow import DAG\nd = DAG('x')\nd.__enter__()\nraise ValueError('x')\n")
        d = self.dag("from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
                     "with DAG('y'):\n    EmptyOperator(task_id='t')\n", name="other.py")
        self.assertEqual(d["dag_id"], "y")


class DialectTest(DagFileTest):
    def test_dialect_by_imports(self):
        for src, want in [
            ("from airflow import DAG\n", "2"),
            ("from airflow import DAG\nfrom airflow.sdk import task\n", "3"),
            ("from airflow import DAG\nimport airflow.providers.standard.operators.empty\n", "3"),
            ("from airflow import DAG, sdk\n", "3"),
            ("from airflow import DAG\nfrom airflow.decorators import task\n", "2"),
        ]:
            d = self.dag(src + "dag = DAG('x')\n", name=f"d{len(src)}.py")
            self.assertEqual(d["dialect"], want, src)

    def test_3x_operator_module_paths(self):
        d = self.dag("from airflow.sdk import DAG\nfrom airflow.operators.bash import BashOperator\n"
                     "with DAG('x'):\n    BashOperator(task_id='b', bash_command='x')\n")
        self.assertEqual(d["tasks"][0]["operator_module"], "airflow.providers.standard.operators.bash")


class ParseTimeApisTest(DagFileTest):
    def test_variable_from_env_default_and_missing(self):
        os.environ["AIRFLOW_VAR_UPDRAFT_TEST_CFG"] = json.dumps({"n": 4})
        self.addCleanup(os.environ.pop, "AIRFLOW_VAR_UPDRAFT_TEST_CFG", None)
        d = self.dag("""
from airflow import DAG
from airflow.models import Variable
from airflow.sdk import Variable as V3
cfg = Variable.get("updraft_test_cfg", deserialize_json=True)
d1 = Variable.get("missing_var", default_var="dflt")
d2 = V3.get("missing_var", default="d3")
dag = DAG("v", description=f"{cfg['n']}-{d1}-{d2}")
""")
        self.assertEqual(d["description"], "4-dflt-d3")
        err = self.parse_error("from airflow.models import Variable\nx = Variable.get('nope_missing')\n", name="v2.py")
        self.assertEqual(err["line"], 2)
        self.assertIn("Variable 'nope_missing' does not exist", err["message"])
        self.assertIn("AIRFLOW_VAR_NOPE_MISSING", err["message"])

    def test_connection_from_env(self):
        os.environ["AIRFLOW_CONN_UPDRAFT_PG"] = "postgres://user:p%40ss@db.local:5433/app?sslmode=require"
        self.addCleanup(os.environ.pop, "AIRFLOW_CONN_UPDRAFT_PG", None)
        from airflow.hooks.base import BaseHook
        from airflow.sdk import Connection

        c = BaseHook.get_connection("updraft_pg")
        self.assertEqual((c.conn_type, c.host, c.login, c.password, c.port, c.schema),
                         ("postgres", "db.local", "user", "p@ss", 5433, "app"))
        self.assertEqual(c.extra_dejson, {"sslmode": "require"})
        from airflow.exceptions import AirflowNotFoundException

        with self.assertRaises(AirflowNotFoundException) as cm:
            Connection.get("not_defined_conn")
        self.assertIn("AIRFLOW_CONN_NOT_DEFINED_CONN", str(cm.exception))

    def test_conf_defaults(self):
        from airflow.configuration import conf
        from airflow.exceptions import AirflowConfigException

        self.assertEqual(conf.get("core", "default_timezone"), "utc")
        self.assertTrue(conf.getboolean("scheduler", "catchup_by_default"))
        self.assertEqual(conf.getint("core", "max_active_runs_per_dag"), 16)
        self.assertTrue(conf.has_option("operators", "default_owner"))
        self.assertFalse(conf.has_option("nope", "nope"))
        self.assertEqual(conf.get("nope", "nope", fallback="fb"), "fb")
        with self.assertRaises(AirflowConfigException):
            conf.get("nope", "nope")
        os.environ["AIRFLOW__CORE__PARALLELISM"] = "7"
        self.addCleanup(os.environ.pop, "AIRFLOW__CORE__PARALLELISM", None)
        self.assertEqual(conf.getint("core", "parallelism"), 7)

    def test_macros_and_dates(self):
        from airflow.macros import ds_add, ds_format
        from airflow.utils.dates import days_ago

        self.assertEqual(ds_add("2024-01-30", 3), "2024-02-02")
        self.assertEqual(ds_format("2024-01-30", "%Y-%m-%d", "%d/%m"), "30/01")
        self.assertEqual(days_ago(0).hour, 0)

    def test_get_current_context_outside_task(self):
        from airflow.exceptions import AirflowException
        from airflow.sdk import get_current_context

        with self.assertRaises(AirflowException):
            get_current_context()


class WithoutPendulumTest(unittest.TestCase):
    def test_parses_without_pendulum(self):
        # Invariant: the package works on an interpreter without pendulum.
        import subprocess
        import sys

        from tests.helpers import COMPAT_DIR

        code = ("import sys; sys.modules['pendulum'] = None; sys.path.insert(0, %r)\n"
                "from updraft_runtime.parse import parse_file\n"
                "from airflow._updraft import compat\n"
                "assert compat.pendulum is None\n"
                "r = parse_file(%r, '/tmp')\n"
                "assert r['ok'], r['error']\n"
                "print(r['dags'][0]['start_date'])\n") % (COMPAT_DIR, SEED_DAG)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "2026-01-01T00:00:00+00:00")


if __name__ == "__main__":
    unittest.main()
