"""Classes that differ between Airflow 2.10 and 3.1 (standard provider 1.21.0,
Kafka provider 1.10.6 vs 2.1.0): a DAG file sees the class attributes and
arguments of the Airflow its imports belong to, under upstream's class name."""
import unittest

from tests.helpers import DagFileTest

V2_HEAD = "from datetime import datetime, timedelta\nfrom airflow import DAG\n"
V3_HEAD = "from datetime import datetime, timedelta\nfrom airflow.sdk import DAG\n"


def dag_file(head, imports, body):
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return head + imports + '\nwith DAG("d", schedule=None, start_date=datetime(2024, 1, 1)) as dag:\n' + lines + "\n"


class PerPathClassesTest(DagFileTest):
    V2 = """
from airflow.operators.dummy import DummyOperator
from airflow.operators.python import PythonVirtualenvOperator, BranchPythonVirtualenvOperator
from airflow.sensors.bash import BashSensor
from airflow.sensors.external_task import ExternalTaskMarker
from airflow.sensors.filesystem import FileSensor
from airflow.sensors.time_delta import TimeDeltaSensor, TimeDeltaSensorAsync
def fn():
    pass
"""
    V3 = """
from airflow.providers.standard.operators.python import PythonVirtualenvOperator, BranchPythonVirtualenvOperator
from airflow.providers.standard.sensors.bash import BashSensor
from airflow.providers.standard.sensors.external_task import ExternalTaskMarker
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor, TimeDeltaSensorAsync
def fn():
    pass
"""
    BODY = """
ExternalTaskMarker(task_id="etm", external_dag_id="o", external_task_id="t")
TimeDeltaSensor(task_id="tds", delta=timedelta(minutes=5))
TimeDeltaSensorAsync(task_id="tdsa", delta=timedelta(minutes=5), end_from_trigger=True)
FileSensor(task_id="fs", filepath="/x")
BashSensor(task_id="bs", bash_command="test -f x.sh")
PythonVirtualenvOperator(task_id="venv", python_callable=fn)
BranchPythonVirtualenvOperator(task_id="bvenv", python_callable=fn)
"""

    def test_2x_paths_give_2_10_attributes(self):
        # Invariant: a file importing 2.x paths sees Airflow 2.10's class attributes.
        t = self.tasks(dag_file(V2_HEAD, self.V2, self.BODY + 'DummyOperator(task_id="dummy")\n'))
        self.assertEqual(t["etm"]["template_fields"], ["external_dag_id", "external_task_id", "execution_date"])
        self.assertEqual(t["etm"]["fields"]["execution_date"], "{{ logical_date.isoformat() }}")
        self.assertNotIn("logical_date", t["etm"]["fields"])
        self.assertEqual((t["tds"]["template_fields"], t["tdsa"]["template_fields"]), ([], []))
        self.assertTrue(t["tdsa"]["sensor"]["deferrable"])
        self.assertEqual(t["fs"]["template_fields"], ["filepath"])
        self.assertEqual(t["bs"]["template_ext"], [])
        for tid in ("venv", "bvenv"):
            self.assertEqual(sorted(t[tid]["template_fields"]),
                             ["index_urls", "op_args", "op_kwargs", "requirements", "templates_dict",
                              "venv_cache_path"])
            self.assertNotIn("index_urls_from_connection_ids", t[tid]["fields"])
        self.assertEqual(t["bvenv"]["operator_kind"], "branch_python_virtualenv")
        self.assertEqual((t["dummy"]["task_type"], t["dummy"]["operator_module"]),
                         ("EmptyOperator", "airflow.operators.empty"))
        expect_types = {"etm": "ExternalTaskMarker", "tds": "TimeDeltaSensor", "tdsa": "TimeDeltaSensorAsync",
                        "fs": "FileSensor", "bs": "BashSensor", "venv": "PythonVirtualenvOperator",
                        "bvenv": "BranchPythonVirtualenvOperator"}
        for tid, task_type in expect_types.items():
            self.assertEqual(t[tid]["task_type"], task_type)
            self.assertFalse(t[tid]["is_custom"], tid)

    def test_3x_paths_give_3_1_attributes(self):
        # Invariant: a file importing 3.x paths sees Airflow 3.1.8 / standard 1.21.0's class attributes.
        t = self.tasks(dag_file(V3_HEAD, self.V3, self.BODY))
        self.assertEqual(t["etm"]["template_fields"], ["external_dag_id", "external_task_id", "logical_date"])
        self.assertEqual(t["etm"]["fields"]["logical_date"], "{{ logical_date.isoformat() }}")
        self.assertEqual((t["tds"]["template_fields"], t["tdsa"]["template_fields"]), (["delta"], ["delta"]))
        self.assertEqual(t["fs"]["template_fields"], ["filepath", "fs_conn_id"])
        self.assertEqual(t["bs"]["template_ext"], [])
        for tid in ("venv", "bvenv"):
            self.assertIn("index_urls_from_connection_ids", t[tid]["template_fields"])
            self.assertIn("index_urls_from_connection_ids", t[tid]["fields"])
        self.assertEqual(t["etm"]["operator_module"], "airflow.providers.standard.sensors.external_task")

    def test_arguments_follow_the_dialect_of_the_path(self):
        cases = [
            (V2_HEAD, self.V2, 'ExternalTaskMarker(task_id="x", external_dag_id="o", external_task_id="t", '
                               'logical_date="{{ ds }}")', "'logical_date'"),
            (V3_HEAD, self.V3, 'ExternalTaskMarker(task_id="x", external_dag_id="o", external_task_id="t", '
                               'execution_date="{{ ds }}")', "'execution_date'"),
            (V2_HEAD, self.V2, 'TimeDeltaSensor(task_id="x", delta=timedelta(1), end_from_trigger=True)',
             "'end_from_trigger'"),
            (V2_HEAD, self.V2, 'PythonVirtualenvOperator(task_id="x", python_callable=fn, '
                               'index_urls_from_connection_ids=["c"])', "'index_urls_from_connection_ids'"),
        ]
        for i, (head, imports, body, name) in enumerate(cases):
            err = self.parse_error(dag_file(head, imports, body), name=f"a_{i}.py")
            self.assertIn("Unknown argument(s): " + name, err["message"], body)
        t = self.tasks(dag_file(V2_HEAD, self.V2, 'ExternalTaskMarker(task_id="m", external_dag_id="o", '
                                                  'external_task_id="t", execution_date="{{ ds }}")'), "ok.py")
        self.assertEqual(t["m"]["fields"]["execution_date"], "{{ ds }}")

    def test_variants_subclass_the_3x_classes(self):
        import airflow.operators.dummy as dummy2
        import airflow.operators.empty as empty2
        import airflow.operators.python as py2
        import airflow.providers.standard.operators.python as py3
        import airflow.providers.standard.sensors.external_task as et3
        import airflow.providers.standard.sensors.time_delta as td3
        import airflow.sensors.external_task as et2
        import airflow.sensors.time_delta as td2

        self.assertIs(dummy2.DummyOperator, empty2.EmptyOperator)
        pairs = [(et2.ExternalTaskMarker, et3.ExternalTaskMarker), (td2.TimeDeltaSensor, td3.TimeDeltaSensor),
                 (td2.TimeDeltaSensorAsync, td3.TimeDeltaSensorAsync),
                 (py2.PythonVirtualenvOperator, py3.PythonVirtualenvOperator),
                 (py2.BranchPythonVirtualenvOperator, py3.BranchPythonVirtualenvOperator)]
        for v2, v3 in pairs:
            self.assertIsNot(v2, v3)
            self.assertTrue(issubclass(v2, v3), v2)
            self.assertEqual(v2.__name__, v3.__name__)
        self.assertTrue(issubclass(py2.BranchPythonVirtualenvOperator, py2.PythonVirtualenvOperator))
        self.assertTrue(issubclass(td2.TimeDeltaSensorAsync, td2.TimeDeltaSensor))
        self.assertIs(et2.ExternalTaskSensor, et3.ExternalTaskSensor)  # unchanged: one identity


class KafkaDialectTest(DagFileTest):
    IMPORTS = """
from airflow.providers.apache.kafka.operators.consume import ConsumeFromTopicOperator
from airflow.providers.apache.kafka.sensors.kafka import AwaitMessageSensor, AwaitMessageTriggerFunctionSensor
def fn(*a, **k):
    pass
"""
    BODY = """
AwaitMessageSensor(task_id="a", topics=["t"], apply_function="m.f")
AwaitMessageTriggerFunctionSensor(task_id="f", topics=["t"], apply_function="m.f", event_triggered_function=fn)
ConsumeFromTopicOperator(task_id="c", topics=["t"])
"""

    def test_provider_1_10_with_airflow_2(self):
        # Invariant: with 2.x imports the Kafka sensors are plain operators (provider 1.10.6).
        t = self.tasks(dag_file(V2_HEAD, self.IMPORTS, self.BODY))
        self.assertIsNone(t["a"]["sensor"])
        self.assertIsNone(t["f"]["sensor"])
        self.assertEqual(t["a"]["template_fields"],
                         ["topics", "apply_function", "apply_function_args", "apply_function_kwargs",
                          "kafka_config_id"])
        self.assertNotIn("return_apply_function_results", t["c"]["fields"])
        self.assertEqual({t[k]["ui_color"] for k in "afc"}, {"#ffefeb"})
        err = self.parse_error(dag_file(V2_HEAD, self.IMPORTS, 'AwaitMessageTriggerFunctionSensor(task_id="f", '
                                        'topics=["t"], apply_function="m.f", event_triggered_function=fn, '
                                        'timeout=600)'), name="k2.py")
        self.assertIn("Unknown argument(s): 'timeout'", err["message"])
        err = self.parse_error(dag_file(V2_HEAD, self.IMPORTS, 'AwaitMessageSensor(task_id="a", topics=["t"], '
                                        'apply_function="m.f", commit_offset=False)'), name="k3.py")
        self.assertIn("'commit_offset'", err["message"])

    def test_provider_2_with_airflow_3(self):
        # Invariant: with 3.x imports the Kafka sensors are BaseSensorOperators (provider 2.1.0).
        t = self.tasks(dag_file(V3_HEAD, self.IMPORTS, self.BODY.replace(
            'event_triggered_function=fn)', 'event_triggered_function=fn, timeout=600, mode="reschedule")')))
        self.assertEqual((t["f"]["task_type"], t["f"]["operator_kind"]),
                         ("AwaitMessageTriggerFunctionSensor", "kafka_await_message_trigger_function"))
        self.assertEqual((t["f"]["sensor"]["timeout"], t["f"]["sensor"]["mode"]), (600.0, "reschedule"))
        self.assertEqual(t["a"]["sensor"]["timeout"], 604800.0)
        self.assertEqual(t["a"]["template_fields"][-1], "commit_offset")
        self.assertIs(t["a"]["fields"]["commit_offset"], True)
        self.assertIs(t["c"]["fields"]["return_apply_function_results"], False)
        self.assertEqual({t[k]["ui_color"] for k in "afc"}, {"#ffefeb"})
        self.assertFalse(any(t[k]["is_custom"] for k in "afc"))
        self.assertEqual(t["a"]["operator_module"], "airflow.providers.apache.kafka.sensors.kafka")

    def test_apply_function_is_required(self):
        err = self.parse_error(dag_file(V2_HEAD, self.IMPORTS, 'AwaitMessageSensor(task_id="a", topics=["t"])'))
        self.assertIn("missing required keyword argument 'apply_function'", err["message"])

    def test_user_subclass_builds_on_the_public_class(self):
        t = self.tasks(dag_file(V3_HEAD, self.IMPORTS + "class Mine(AwaitMessageSensor):\n    pass\n",
                                'Mine(task_id="m", topics=["t"], apply_function="m.f")'))
        self.assertEqual((t["m"]["task_type"], t["m"]["operator_kind"]), ("Mine", "kafka_await_message"))
        self.assertIsNone(t["m"]["sensor"])


class DecoratedOperatorsTest(DagFileTest):
    BODY = """
@task.bash
def announce():
    return "echo hi"
@task.sensor(poke_interval=5)
def wait():
    return True
@task.virtualenv(requirements=["x"])
def venv():
    pass
announce()
wait()
venv()
"""

    def test_decorated_template_fields(self):
        for i, (head, imports) in enumerate(((V2_HEAD, "from airflow.decorators import task\n"),
                                             (V3_HEAD, "from airflow.sdk import task\n"))):
            t = self.tasks(dag_file(head, imports, self.BODY), name=f"tf_{i}.py")
            self.assertEqual(t["announce"]["template_fields"], ["op_args", "op_kwargs", "bash_command", "env", "cwd"])
            self.assertEqual(t["announce"]["template_fields_renderers"],
                             {"bash_command": "bash", "env": "json", "op_args": "py", "op_kwargs": "py"})
            self.assertEqual(t["wait"]["template_fields"], ["op_args", "op_kwargs"])
            self.assertEqual(t["venv"]["task_type"], "_PythonVirtualenvDecoratedOperator")
            has_conn_ids = "index_urls_from_connection_ids" in t["venv"]["template_fields"]
            self.assertEqual(has_conn_ids, head is V3_HEAD, head)


if __name__ == "__main__":
    unittest.main()


class ScheduleEncodingTest(unittest.TestCase):
    """Timetable arguments that change when runs happen must be serialized."""

    def test_cron_trigger_interval_and_run_immediately(self):
        import datetime as dt
        from airflow._updraft.schedule import encode_schedule
        from airflow.timetables.trigger import CronTriggerTimetable

        s = encode_schedule(CronTriggerTimetable("0 2 * * *", timezone="UTC", interval=dt.timedelta(hours=1),
                                                 run_immediately=None), dt.timezone.utc)
        self.assertEqual((s["timetable"], s["interval"], s["run_immediately"]), ("trigger", 3600.0, "auto"))
        s = encode_schedule("0 2 * * *", dt.timezone.utc)
        self.assertEqual((s["interval"], s["run_immediately"]), (0.0, False))

    def test_relativedelta_keeps_zero_absolute_fields(self):
        from dateutil.relativedelta import relativedelta
        from airflow._updraft.schedule import encode_schedule

        s = encode_schedule(relativedelta(months=1, day=1, hour=0), __import__("datetime").timezone.utc)
        self.assertEqual(s["value"], {"months": 1, "day": 1, "hour": 0})
