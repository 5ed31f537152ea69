"""Operators and sensors: arguments, validation, template fields, operator
kinds and their serialized ``fields`` / ``sensor`` / ``python`` blocks."""
import unittest

from tests.helpers import DagFileTest

HEAD = """from datetime import datetime, timedelta, time
from airflow import DAG
"""


def in_dag(body, imports=""):
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return HEAD + imports + '\nwith DAG("d", schedule=None, start_date=datetime(2024, 1, 1)) as dag:\n' + lines + "\n"


class BaseOperatorArgsTest(DagFileTest):
    def test_all_base_arguments_serialize(self):
        # Invariant: every BaseOperator argument of airflow.md §1.3 is accepted and kept.
        t = self.tasks(in_dag("""
def cb(ctx): pass
EmptyOperator(task_id="t", owner="me", email=["a@x"], email_on_retry=False, email_on_failure=False, retries=3,
    retry_delay=timedelta(seconds=10), retry_exponential_backoff=True, max_retry_delay=timedelta(minutes=5),
    start_date=datetime(2024, 2, 1), end_date=datetime(2024, 3, 1), depends_on_past=True,
    ignore_first_depends_on_past=True, wait_for_past_depends_before_skipping=True, wait_for_downstream=True,
    params={"k": 1}, priority_weight=7, weight_rule="absolute", queue="q", pool="p", pool_slots=2,
    sla=timedelta(hours=1), execution_timeout=timedelta(minutes=2), on_execute_callback=cb,
    on_failure_callback=cb, on_success_callback=cb, on_retry_callback=cb, on_skipped_callback=[cb],
    pre_execute=cb, post_execute=cb, trigger_rule="none_failed", resources=None, run_as_user="u",
    max_active_tis_per_dag=2, max_active_tis_per_dagrun=1, executor="LocalExecutor",
    executor_config={"k": "v"}, do_xcom_push=False, multiple_outputs=True, inlets=[], outlets=[],
    doc="d", doc_md="md", doc_json="{}", doc_yaml="y", doc_rst="r", task_display_name="T",
    map_index_template="{{ x }}")
""", "from airflow.operators.empty import EmptyOperator\n"))["t"]
        expect = {
            "owner": "me", "email": ["a@x"], "email_on_retry": False, "email_on_failure": False, "retries": 3,
            "retry_delay": 10.0, "retry_exponential_backoff": True, "max_retry_delay": 300.0,
            "start_date": "2024-02-01T00:00:00+00:00", "end_date": "2024-03-01T00:00:00+00:00",
            "depends_on_past": True, "ignore_first_depends_on_past": True,
            "wait_for_past_depends_before_skipping": True, "wait_for_downstream": True, "priority_weight": 7,
            "weight_rule": "absolute", "queue": "q", "pool": "p", "pool_slots": 2, "execution_timeout": 120.0,
            "trigger_rule": "none_failed", "run_as_user": "u", "max_active_tis_per_dag": 2,
            "max_active_tis_per_dagrun": 1, "executor": "LocalExecutor", "executor_config": {"k": "v"},
            "do_xcom_push": False, "multiple_outputs": True, "doc_md": "md", "task_display_name": "T",
        }
        for k, v in expect.items():
            self.assertEqual(t[k], v, k)
        self.assertEqual(t["params"], {"k": {"value": 1, "description": None, "schema": {}}})
        self.assertTrue(all(t["callbacks"].values()))
        self.assertEqual(t["fields"], {})

    def test_base_defaults(self):
        t = self.tasks(in_dag('EmptyOperator(task_id="t")', "from airflow.operators.empty import EmptyOperator\n"))["t"]
        self.assertEqual((t["owner"], t["retries"], t["retry_delay"], t["pool"], t["queue"], t["priority_weight"],
                          t["weight_rule"], t["trigger_rule"], t["pool_slots"]),
                         ("airflow", 0, 300.0, "default_pool", "default", 1, "downstream", "all_success", 1))
        self.assertEqual(t["ui_color"], "#e8f7e4")
        self.assertIsNone(t["sensor"])
        self.assertIsNone(t["python"])
        self.assertIsNone(t["mapped"])

    def test_unknown_kwarg_names_class_and_argument(self):
        # Invariant: a typo in an argument is a TypeError naming class and argument (Airflow 3).
        err = self.parse_error(in_dag('BashOperator(task_id="t", bash_comand="ls")',
                                      "from airflow.operators.bash import BashOperator\n"))
        self.assertTrue(err["message"].startswith("TypeError: Invalid arguments were passed to BashOperator"))
        self.assertIn("BashOperator", err["message"])
        self.assertIn("'bash_comand'", err["message"])
        self.assertIn("did you mean 'bash_command'", err["message"])
        self.assertEqual(err["line"], 6)

    def test_unknown_kwarg_is_also_an_airflow_exception(self):
        from airflow.exceptions import AirflowException
        from airflow.operators.empty import EmptyOperator

        with self.assertRaises(AirflowException):
            EmptyOperator(task_id="x", nope=1)
        with self.assertRaises(TypeError):
            EmptyOperator(task_id="x", nope=1)

    def test_missing_required_argument(self):
        err = self.parse_error(in_dag('BashOperator(task_id="t")', "from airflow.operators.bash import BashOperator\n"))
        self.assertIn("missing required keyword argument 'bash_command'", err["message"])

    def test_positional_arguments_rejected(self):
        err = self.parse_error(in_dag('BashOperator("t", "ls")', "from airflow.operators.bash import BashOperator\n"))
        self.assertIn("Use keyword arguments", err["message"])

    def test_invalid_trigger_rule(self):
        err = self.parse_error(in_dag('EmptyOperator(task_id="t", trigger_rule="sometimes")',
                                      "from airflow.operators.empty import EmptyOperator\n"))
        self.assertIn("The trigger_rule must be one of", err["message"])

    def test_deprecated_trigger_rule_aliases_normalised(self):
        t = self.tasks(in_dag('EmptyOperator(task_id="a", trigger_rule="none_failed_or_skipped")\n'
                              'EmptyOperator(task_id="b", trigger_rule=TriggerRule.DUMMY)',
                              "from airflow.operators.empty import EmptyOperator\n"
                              "from airflow.utils.trigger_rule import TriggerRule\n"))
        self.assertEqual(t["a"]["trigger_rule"], "none_failed_min_one_success")
        self.assertEqual(t["b"]["trigger_rule"], "always")

    def test_default_args_from_dag_and_task_group(self):
        # Invariant: default_args fill missing args; inner TaskGroup defaults win over the DAG's.
        d = self.dag("""
from datetime import datetime, timedelta
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.utils.task_group import TaskGroup
with DAG("d", default_args={"owner": "dag", "retries": 1, "bash_command": "echo default",
                            "params": {"p": 1}}) as dag:
    BashOperator(task_id="plain")
    BashOperator(task_id="explicit", retries=5, bash_command="echo mine")
    with TaskGroup("g", default_args={"retries": 9, "owner": "group"}):
        BashOperator(task_id="inner", default_args={"owner": "task"})
""")
        t = {x["task_id"]: x for x in d["tasks"]}
        self.assertEqual((t["plain"]["owner"], t["plain"]["retries"]), ("dag", 1))
        self.assertEqual(t["plain"]["fields"]["bash_command"], "echo default")
        self.assertEqual((t["explicit"]["retries"], t["explicit"]["fields"]["bash_command"]), (5, "echo mine"))
        self.assertEqual((t["g.inner"]["owner"], t["g.inner"]["retries"]), ("task", 9))
        self.assertEqual(t["plain"]["params"]["p"]["value"], 1)
        self.assertEqual(d["owner"], "dag")

    def test_duplicate_task_id(self):
        # Invariant: a duplicate task id fails at the line that creates it.
        err = self.parse_error(in_dag('EmptyOperator(task_id="same")\nEmptyOperator(task_id="same")',
                                      "from airflow.operators.empty import EmptyOperator\n"))
        self.assertEqual(err["kind"], "duplicate_task_id")
        self.assertIn("'same'", err["message"])
        self.assertEqual(err["line"], 7)


class StandardOperatorsTest(DagFileTest):
    IMPORTS = """
from airflow.operators.bash import BashOperator
from airflow.operators.python import (PythonOperator, BranchPythonOperator, ShortCircuitOperator,
    PythonVirtualenvOperator, ExternalPythonOperator, BranchPythonVirtualenvOperator, BranchExternalPythonOperator)
from airflow.operators.empty import EmptyOperator
from airflow.operators.dummy import DummyOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.operators.latest_only import LatestOnlyOperator
from airflow.operators.datetime import BranchDateTimeOperator
from airflow.operators.weekday import BranchDayOfWeekOperator
def fn(a, b=1):
    return a
"""
    BODY = """
BashOperator(task_id="bash", bash_command="echo {{ ds }}", env={"A": "1"}, cwd="/tmp", skip_exit_code=3)
PythonOperator(task_id="py", python_callable=fn, op_args=[1], op_kwargs={"b": 2}, templates_dict={"q": "x"})
BranchPythonOperator(task_id="branch", python_callable=fn)
ShortCircuitOperator(task_id="sc", python_callable=fn, ignore_downstream_trigger_rules=False)
PythonVirtualenvOperator(task_id="venv", python_callable=fn, requirements="pandas", python_version="3.11")
ExternalPythonOperator(task_id="ext", python="/usr/bin/python3", python_callable=fn)
BranchPythonVirtualenvOperator(task_id="bvenv", python_callable=fn)
BranchExternalPythonOperator(task_id="bext", python="/usr/bin/python3", python_callable=fn)
EmptyOperator(task_id="empty")
DummyOperator(task_id="dummy")
TriggerDagRunOperator(task_id="trig", trigger_dag_id="other", conf={"a": 1}, execution_date="{{ ds }}",
                      wait_for_completion=True, poke_interval=5)
LatestOnlyOperator(task_id="latest")
BranchDateTimeOperator(task_id="bdt", follow_task_ids_if_true=["empty"], follow_task_ids_if_false="dummy",
                       target_lower=time(9), target_upper=time(17), use_task_execution_date=True)
BranchDayOfWeekOperator(task_id="bdow", follow_task_ids_if_true="empty", follow_task_ids_if_false="dummy",
                        week_day={"Saturday", "Sunday"})
"""

    def setUp(self):
        super().setUp()
        self.t = self.tasks(in_dag(self.BODY, self.IMPORTS))

    def test_kinds_types_and_modules(self):
        expect = {
            "bash": ("BashOperator", "bash", "airflow.operators.bash"),
            "py": ("PythonOperator", "python", "airflow.operators.python"),
            "branch": ("BranchPythonOperator", "branch_python", "airflow.operators.python"),
            "sc": ("ShortCircuitOperator", "short_circuit", "airflow.operators.python"),
            "venv": ("PythonVirtualenvOperator", "python_virtualenv", "airflow.operators.python"),
            "ext": ("ExternalPythonOperator", "external_python", "airflow.operators.python"),
            "empty": ("EmptyOperator", "empty", "airflow.operators.empty"),
            "dummy": ("EmptyOperator", "empty", "airflow.operators.empty"),  # 2.10: an alias, same class
            "trig": ("TriggerDagRunOperator", "trigger_dagrun", "airflow.operators.trigger_dagrun"),
            "latest": ("LatestOnlyOperator", "latest_only", "airflow.operators.latest_only"),
            "bdt": ("BranchDateTimeOperator", "branch_datetime", "airflow.operators.datetime"),
            "bdow": ("BranchDayOfWeekOperator", "branch_weekday", "airflow.operators.weekday"),
        }
        for tid, (ttype, kind, module) in expect.items():
            t = self.t[tid]
            self.assertEqual((t["task_type"], t["operator_kind"], t["operator_module"]), (ttype, kind, module), tid)
            self.assertFalse(t["is_custom"], tid)

    def test_template_fields_and_ext(self):
        self.assertEqual(self.t["bash"]["template_fields"], ["bash_command", "env", "cwd"])
        self.assertEqual(self.t["bash"]["template_ext"], [".sh", ".bash"])
        self.assertEqual(self.t["bash"]["template_fields_renderers"], {"bash_command": "bash", "env": "json"})
        self.assertEqual(self.t["py"]["template_fields"], ["templates_dict", "op_args", "op_kwargs"])
        self.assertEqual(self.t["venv"]["template_fields"],
                         ["templates_dict", "op_args", "op_kwargs", "requirements", "index_urls", "venv_cache_path"])
        self.assertEqual(self.t["venv"]["template_ext"], [".txt"])
        self.assertEqual(self.t["trig"]["template_fields"],
                         ["trigger_dag_id", "trigger_run_id", "logical_date", "conf", "wait_for_completion",
                          "skip_when_already_exists"])
        for t in self.t.values():  # Invariant: every template field has a value in `fields`.
            for f in t["template_fields"]:
                self.assertIn(f, t["fields"], (t["task_id"], f))

    def test_fields(self):
        bash = self.t["bash"]["fields"]
        self.assertEqual(bash["bash_command"], "echo {{ ds }}")
        self.assertEqual(bash["env"], {"A": "1"})
        self.assertEqual(bash["skip_on_exit_code"], 3)
        self.assertNotIn("skip_exit_code", bash)
        self.assertEqual(self.t["trig"]["fields"]["logical_date"], "{{ ds }}")
        self.assertEqual(self.t["trig"]["fields"]["allowed_states"], ["success"])
        self.assertEqual(self.t["trig"]["fields"]["conf"], {"a": 1})
        bdt = self.t["bdt"]["fields"]
        self.assertEqual(bdt["target_lower"], {"__type": "time", "__var": "09:00:00"})
        self.assertTrue(bdt["use_task_logical_date"])
        self.assertEqual(self.t["bdow"]["fields"]["week_day"], {"__type": "set", "__var": ["Saturday", "Sunday"]})
        self.assertFalse(self.t["sc"]["fields"]["ignore_downstream_trigger_rules"])
        self.assertEqual(self.t["venv"]["fields"]["requirements"], ["pandas"])

    def test_python_block(self):
        py = self.t["py"]["python"]
        self.assertTrue(py["callable"].endswith("_dag_file.fn"))
        self.assertEqual(py["op_args"], [1])
        self.assertEqual(py["op_kwargs"], {"b": 2})
        self.assertEqual(py["templates_dict"], {"q": "x"})
        self.assertIsNone(py["decorator"])
        self.assertEqual(self.t["py"]["fields"]["python_callable"]["__type"], "callable")
        self.assertIsNone(self.t["bash"]["python"])

    def test_validation_errors(self):
        cases = [
            ('PythonOperator(task_id="x", python_callable="nope")', "must be callable"),
            ('PythonVirtualenvOperator(task_id="x", python_callable=lambda: 1)', "only supports functions"),
            ('BranchDateTimeOperator(task_id="x", follow_task_ids_if_true="a", follow_task_ids_if_false="b", '
             'target_lower=None, target_upper=None)', "Both target_upper and target_lower are None"),
            ('BranchDateTimeOperator(task_id="x", follow_task_ids_if_true="a", follow_task_ids_if_false="b")',
             "missing required keyword argument 'target_lower'"),
            ('BranchDayOfWeekOperator(task_id="x", follow_task_ids_if_true="a", follow_task_ids_if_false="b", '
             'week_day="Funday")', "Invalid Week Day"),
            ('TriggerDagRunOperator(task_id="x", trigger_dag_id="o", logical_date=5)', "Expected str or datetime"),
        ]
        for body, msg in cases:
            err = self.parse_error(in_dag(body, self.IMPORTS), name=f"v_{len(msg)}.py")
            self.assertIn(msg, err["message"], body)


class SensorsTest(DagFileTest):
    IMPORTS = """
from airflow.sensors.bash import BashSensor
from airflow.sensors.python import PythonSensor
from airflow.sensors.filesystem import FileSensor
from airflow.sensors.time_sensor import TimeSensor
from airflow.sensors.time_delta import TimeDeltaSensor
from airflow.sensors.date_time import DateTimeSensor
from airflow.sensors.external_task import ExternalTaskSensor, ExternalTaskMarker
def ok():
    return True
"""

    def test_sensor_kinds_and_blocks(self):
        t = self.tasks(in_dag("""
BashSensor(task_id="bs", bash_command="test -f x", poke_interval=5)
PythonSensor(task_id="ps", python_callable=ok, mode="reschedule", timeout=timedelta(hours=1))
FileSensor(task_id="fs", filepath="/data/{{ ds }}.csv", soft_fail=True, deferrable=True)
TimeSensor(task_id="ts", target_time=time(6, 30))
TimeDeltaSensor(task_id="tds", delta=timedelta(minutes=10), exponential_backoff=True, max_wait=600)
DateTimeSensor(task_id="dts", target_time="{{ data_interval_end }}", silent_fail=True)
ExternalTaskSensor(task_id="ets", external_dag_id="other", external_task_id="t", never_fail=True,
                   execution_delta=timedelta(hours=1))
ExternalTaskMarker(task_id="etm", external_dag_id="other", external_task_id="t")
""", self.IMPORTS))
        kinds = {k: v["operator_kind"] for k, v in t.items()}
        self.assertEqual(kinds, {"bs": "bash_sensor", "ps": "python_sensor", "fs": "file_sensor", "ts": "time_sensor",
                                 "tds": "time_delta_sensor", "dts": "date_time_sensor", "ets": "external_task_sensor",
                                 "etm": "external_task_marker"})
        self.assertEqual(t["bs"]["sensor"], {"poke_interval": 5.0, "timeout": 604800.0, "mode": "poke",
                                             "soft_fail": False, "exponential_backoff": False, "max_wait": None,
                                             "silent_fail": False, "never_fail": False, "deferrable": False})
        self.assertEqual((t["ps"]["sensor"]["mode"], t["ps"]["sensor"]["timeout"]), ("reschedule", 3600.0))
        self.assertTrue(t["fs"]["sensor"]["soft_fail"] and t["fs"]["sensor"]["deferrable"])
        self.assertEqual(t["tds"]["sensor"]["max_wait"], 600.0)
        self.assertTrue(t["dts"]["sensor"]["silent_fail"])
        self.assertTrue(t["ets"]["sensor"]["never_fail"])
        self.assertIsNone(t["etm"]["sensor"])
        self.assertEqual(t["ts"]["fields"]["target_time"], {"__type": "time", "__var": "06:30:00"})
        self.assertEqual(t["tds"]["fields"]["delta"], {"__type": "timedelta", "__var": 600.0})
        self.assertEqual(t["ets"]["fields"]["external_task_ids"], ["t"])
        self.assertEqual(t["ets"]["fields"]["execution_delta"], {"__type": "timedelta", "__var": 3600.0})
        self.assertEqual(t["etm"]["fields"]["execution_date"], "{{ logical_date.isoformat() }}")  # 2.10's name
        self.assertEqual(t["fs"]["template_fields"], ["filepath"])
        self.assertEqual(t["ets"]["template_fields"],
                         ["external_dag_id", "external_task_id", "external_task_ids", "external_task_group_id"])
        self.assertNotIn("poke_interval", t["bs"]["fields"])
        self.assertTrue(t["ps"]["python"]["callable"].endswith(".ok"))
        self.assertEqual(t["bs"]["ui_color"], "#e6f1f2")

    def test_sensor_validation(self):
        cases = [
            ('BashSensor(task_id="x", bash_command="x", mode="wait")', "The mode must be one of"),
            ('BashSensor(task_id="x", bash_command="x", poke_interval=-1)', "non-negative"),
            ('BashSensor(task_id="x", bash_command="x", soft_fail=True, never_fail=True)', "mutually exclusive"),
            ('ExternalTaskSensor(task_id="x", external_dag_id="o", external_task_id="a", external_task_ids=["b"])',
             "Only one of `external_task_id` or `external_task_ids`"),
            ('ExternalTaskSensor(task_id="x", external_dag_id="o", execution_delta=timedelta(1), '
             'execution_date_fn=ok)', "Only one of `execution_delta` or `execution_date_fn`"),
            ('DateTimeSensor(task_id="x", target_time=5)', "Expected str or datetime"),
            ('ExternalTaskMarker(task_id="x", external_dag_id="o", external_task_id="t", recursion_depth=0)',
             "recursion_depth should be a positive integer"),
        ]
        for i, (body, msg) in enumerate(cases):
            err = self.parse_error(in_dag(body, self.IMPORTS), name=f"s_{i}.py")
            self.assertIn(msg, err["message"], body)

    def test_day_of_week_sensor(self):
        t = self.tasks(in_dag('DayOfWeekSensor(task_id="dow", week_day=WeekDay.MONDAY, timeout=3, soft_fail=True)',
                              "from airflow.providers.standard.sensors.weekday import DayOfWeekSensor\n"
                              "from airflow.providers.standard.utils.weekday import WeekDay\n"))["dow"]
        self.assertEqual((t["operator_kind"], t["fields"]["week_day"]), ("day_of_week_sensor", 1))
        self.assertEqual((t["sensor"]["timeout"], t["sensor"]["soft_fail"]), (3.0, True))

    def test_3x_paths_give_3x_module_and_dialect(self):
        d = self.dag(in_dag('FileSensor(task_id="fs", filepath="x")',
                            "from airflow.providers.standard.sensors.filesystem import FileSensor\n"))
        self.assertEqual(d["dialect"], "3")
        self.assertEqual(d["tasks"][0]["operator_module"], "airflow.providers.standard.sensors.filesystem")


class KafkaTest(DagFileTest):
    def test_upstream_kafka_operators(self):
        t = self.tasks(in_dag("""
ProduceToTopicOperator(task_id="p", topic="t", producer_function="mod.produce", producer_function_args=["a"])
ConsumeFromTopicOperator(task_id="c", topics="t", apply_function=fn, commit_cadence="end_of_batch",
                         max_messages=10, max_batch_size=2)
AwaitMessageSensor(task_id="a", topics=["t"], apply_function="mod.check", xcom_push_key="k")
AwaitMessageTriggerFunctionSensor(task_id="f", topics=["t"], apply_function="mod.check",
                                  event_triggered_function=fn)
""", """
from airflow.providers.apache.kafka.operators.produce import ProduceToTopicOperator
from airflow.providers.apache.kafka.operators.consume import ConsumeFromTopicOperator
from airflow.providers.apache.kafka.sensors.kafka import AwaitMessageSensor, AwaitMessageTriggerFunctionSensor
def fn(*a, **k): pass
"""))
        self.assertEqual({k: v["operator_kind"] for k, v in t.items()},
                         {"p": "kafka_produce_to_topic", "c": "kafka_consume_from_topic",
                          "a": "kafka_await_message", "f": "kafka_await_message_trigger_function"})
        self.assertEqual(t["p"]["template_fields"],
                         ["topic", "producer_function_args", "producer_function_kwargs", "kafka_config_id"])
        self.assertEqual(t["c"]["template_fields"],
                         ["topics", "apply_function_args", "apply_function_kwargs", "kafka_config_id"])
        self.assertEqual(t["p"]["fields"]["producer_function"], "mod.produce")
        self.assertEqual(t["c"]["fields"]["topics"], ["t"])
        self.assertEqual(t["c"]["fields"]["commit_cadence"], "end_of_batch")
        self.assertEqual(t["c"]["fields"]["apply_function"]["__type"], "callable")
        self.assertEqual(t["a"]["fields"]["xcom_push_key"], "k")
        self.assertEqual(t["p"]["operator_module"], "airflow.providers.apache.kafka.operators.produce")

    def test_article_spellings(self):
        t = self.tasks(in_dag("""
KafkaProduceOperator(task_id="p", topic="t", value="{{ ds }}", key="k", headers={"h": "v"})
KafkaConsumeOperator(task_id="c", topics=["a", "b"], max_messages=5, group_id="g")
""", """
from airflow.providers.apache.kafka.operators.kafka_produce import KafkaProduceOperator
from airflow.providers.apache.kafka.operators.kafka_consume import KafkaConsumeOperator
"""))
        p, c = t["p"], t["c"]
        self.assertEqual((p["operator_kind"], c["operator_kind"]), ("kafka_produce", "kafka_consume"))
        self.assertEqual(p["template_fields"], ["topic", "value", "key", "headers", "kafka_config_id"])
        self.assertEqual(c["template_fields"], ["topics", "kafka_config_id"])
        self.assertEqual(p["fields"]["value"], "{{ ds }}")
        self.assertEqual(p["fields"]["headers"], {"h": "v"})
        self.assertEqual(p["fields"]["kafka_config_id"], "kafka_default")
        self.assertEqual((c["fields"]["max_messages"], c["fields"]["group_id"]), (5, "g"))

    def test_kafka_validation(self):
        err = self.parse_error(in_dag('ConsumeFromTopicOperator(task_id="c", topics="t", commit_cadence="often")',
                                      "from airflow.providers.apache.kafka.operators.consume import "
                                      "ConsumeFromTopicOperator\n"))
        self.assertIn("commit_cadence must be one of", err["message"])
        err = self.parse_error(in_dag('KafkaProduceOperator(task_id="p", topic="t")',
                                      "from airflow.providers.apache.kafka.operators.kafka_produce import "
                                      "KafkaProduceOperator\n"), name="k2.py")
        self.assertIn("missing required keyword argument 'value'", err["message"])


class HitlTest(DagFileTest):
    IMPORTS = ("from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator, "
               "HITLBranchOperator, HITLEntryOperator\nfrom airflow.sdk import Param\n")

    def test_hitl_operators_serialize(self):
        t = self.tasks(in_dag("""
HITLOperator(task_id="h", subject="Pick {{ ds }}", options=["a", "b"], body="**why**", defaults="a",
             params={"note": Param("", type="string")}, assigned_users={"id": "1", "name": "ann"})
ApprovalOperator(task_id="ap", subject="Ship?", fail_on_reject=True, defaults=["Reject"])
HITLBranchOperator(task_id="hb", subject="Where?", options=["left", "right"], multiple=True,
                   options_mapping={"left": "h"})
HITLEntryOperator(task_id="he", subject="Fill", params={"x": 1})
""", self.IMPORTS))
        self.assertEqual({k: v["operator_kind"] for k, v in t.items()},
                         {"h": "hitl", "ap": "hitl_approval", "hb": "hitl_branch", "he": "hitl_entry"})
        self.assertEqual(t["h"]["template_fields"], ["subject", "body"])
        self.assertEqual(t["h"]["fields"]["defaults"], ["a"])
        self.assertEqual(t["h"]["fields"]["assigned_users"], [{"id": "1", "name": "ann"}])
        self.assertEqual(t["h"]["params"]["note"]["schema"], {"type": "string"})
        self.assertEqual(t["ap"]["fields"]["options"], ["Approve", "Reject"])
        self.assertTrue(t["ap"]["fields"]["fail_on_reject"])
        self.assertEqual(t["hb"]["fields"]["options_mapping"], {"left": "h"})
        self.assertEqual((t["he"]["fields"]["options"], t["he"]["fields"]["defaults"]), (["OK"], ["OK"]))
        self.assertEqual(t["h"]["operator_module"], "airflow.providers.standard.operators.hitl")

    def test_response_timeout_and_form_params(self):
        # Invariant (standard provider 1.21.0): a lone execution_timeout becomes response_timeout (with a
        # deprecation warning); the form's params are the DAG's merged with the operator's, in `fields`.
        import warnings

        source = in_dag("""
ApprovalOperator(task_id="ap", subject="Ship?", execution_timeout=timedelta(hours=4))
HITLOperator(task_id="h", subject="s", options=["a"], response_timeout=timedelta(minutes=5),
             execution_timeout=timedelta(hours=1), params={"n": Param(3, type="integer"), "v": "mine"})
HITLEntryOperator(task_id="he", subject="Fill", response_timeout=60)
""", self.IMPORTS).replace('start_date=datetime(2024, 1, 1)',
                           'start_date=datetime(2024, 1, 1), params={"v": Param("1.0", description="Version")}')
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t = self.tasks(source)
        deprecations = [w for w in caught if "response_timeout" in str(w.message)]
        self.assertEqual(len(deprecations), 1, [str(w.message) for w in caught])
        self.assertTrue(deprecations[0].filename.endswith("dag_file.py"), deprecations[0].filename)
        self.assertIsNone(t["ap"]["execution_timeout"])
        self.assertEqual(t["ap"]["fields"]["response_timeout"], {"__type": "timedelta", "__var": 14400.0})
        self.assertEqual(t["h"]["execution_timeout"], 3600.0)
        self.assertEqual(t["h"]["fields"]["response_timeout"], {"__type": "timedelta", "__var": 300.0})
        self.assertEqual(t["he"]["fields"]["response_timeout"], {"__type": "timedelta", "__var": 60.0})
        params = t["h"]["fields"]["params"]
        self.assertEqual(sorted(params), ["n", "v"])
        self.assertEqual(params["n"], {"__type": "param", "__var": {"value": 3, "description": None,
                                                                     "schema": {"type": "integer"}}})
        self.assertEqual(params["v"]["__var"]["value"], "mine")  # the operator's own params win
        self.assertEqual(t["ap"]["fields"]["params"]["v"]["__var"],
                         {"value": "1.0", "description": "Version", "schema": {}})
        self.assertEqual(t["h"]["params"]["n"]["value"], 3)  # the task's params are the same mapping

    def test_notifiers_are_serialized_as_specs(self):
        # Invariant: the worker learns each notifier's class and arguments (HttpNotifier's connection,
        # endpoint, json) from `notifier_specs`; the notifier objects themselves are not in `fields`.
        t = self.tasks(in_dag("""
class Pager(BaseNotifier):
    def __init__(self, team):
        super().__init__()
        self.team = team
    def notify(self, context):
        pass
ApprovalOperator(task_id="ap", subject="Ship?", notifiers=[
    HttpNotifier(http_conn_id="hook", endpoint="/hitl", json={"k": 1}), Pager("ops")])
HITLOperator(task_id="h", subject="s", options=["a"], notifiers=HttpNotifier())
""", self.IMPORTS + "from airflow.providers.http.notifications import HttpNotifier\n"
                "from airflow.sdk import BaseNotifier\n"))
        specs = t["ap"]["fields"]["notifier_specs"]
        self.assertNotIn("notifiers", t["ap"]["fields"])
        self.assertEqual(specs[0]["class"], "airflow.providers.http.notifications.http.HttpNotifier")
        self.assertEqual((specs[0]["kwargs"]["http_conn_id"], specs[0]["kwargs"]["endpoint"],
                          specs[0]["kwargs"]["json"], specs[0]["kwargs"]["method"]),
                         ("hook", "/hitl", {"k": 1}, "POST"))
        self.assertTrue(specs[1]["class"].endswith("Pager"), specs[1])
        self.assertEqual(specs[1]["kwargs"], {"team": "ops"})
        self.assertEqual(t["h"]["fields"]["notifier_specs"][0]["kwargs"]["http_conn_id"], "http_default")

    def test_hitl_arguments_of_provider_1_21(self):
        err = self.parse_error(in_dag('HITLOperator(task_id="x", subject="s", options=["a"], respondents=["u"])',
                                      self.IMPORTS))
        self.assertIn("Unknown argument(s): 'respondents'", err["message"])
        t = self.tasks(in_dag('HITLOperator(task_id="x", subject="s", options=["a", "a"])', self.IMPORTS), "ok.py")
        self.assertEqual(t["x"]["fields"]["options"], ["a", "a"])  # upstream does not refuse duplicates

    def test_hitl_validation(self):
        cases = [
            ('HITLOperator(task_id="x", subject="s", options=[])', '"options" cannot be empty'),
            ('HITLOperator(task_id="x", subject="s", options=["a"], defaults=["b"])', "should be a subset of options"),
            ('HITLOperator(task_id="x", subject="s", options=["a", "b"], defaults=["a", "b"])',
             'More than one defaults given when "multiple" is set to False'),
            ('ApprovalOperator(task_id="x", subject="s", options=["a"])', "Passing options to ApprovalOperator"),
            ('ApprovalOperator(task_id="x", subject="s", multiple=True)', "Passing multiple to ApprovalOperator"),
            ('HITLBranchOperator(task_id="x", subject="s", options=["a"], options_mapping={"z": "t"})',
             "`options_mapping` contains keys that are not in `options`"),
            ('HITLOperator(task_id="x", subject="s", options=["a"], params={"_options": 1})', '"_options"'),
        ]
        for i, (body, msg) in enumerate(cases):
            err = self.parse_error(in_dag(body, self.IMPORTS), name=f"h_{i}.py")
            self.assertIn(msg, err["message"], body)


class CustomOperatorTest(DagFileTest):
    def test_custom_operator_in_dag_file_and_helper_module(self):
        # Invariant: user operator classes load, keep their template fields and run as `custom`.
        self.write("my_ops.py", """
from airflow.models.baseoperator import BaseOperator
from airflow.operators.bash import BashOperator
class HelperOperator(BaseOperator):
    template_fields = ("target", "payload")
    template_ext = (".sql",)
    ui_color = "#123456"
    def __init__(self, target, payload=None, retries_hint=3, **kwargs):
        super().__init__(**kwargs)
        self.target = target
        self.payload = payload
        self.retries_hint = retries_hint
        self.client = object()
        self._private = 1
    def execute(self, context):
        return self.target
class LoudBash(BashOperator):
    pass
class OwnExecBash(BashOperator):
    def execute(self, context):
        return 1
""")
        t = self.tasks(in_dag("""
class InFile(BaseSensorOperator):
    template_fields = ("path",)
    def __init__(self, *, path, **kwargs):
        super().__init__(**kwargs)
        self.path = path
    def poke(self, context):
        return True
HelperOperator(task_id="h", target="{{ ds }}", payload={"a": [1, 2]})
LoudBash(task_id="lb", bash_command="echo")
OwnExecBash(task_id="ob", bash_command="echo")
InFile(task_id="f", path="/x", poke_interval=9)
""", "from my_ops import HelperOperator, LoudBash, OwnExecBash\nfrom airflow.sensors.base import BaseSensorOperator\n"))
        h = t["h"]
        self.assertEqual((h["task_type"], h["operator_module"], h["operator_kind"], h["is_custom"]),
                         ("HelperOperator", "my_ops", "custom", True))
        self.assertEqual(h["template_fields"], ["target", "payload"])
        self.assertEqual(h["template_ext"], [".sql"])
        self.assertEqual(h["ui_color"], "#123456")
        self.assertEqual(h["fields"], {"target": "{{ ds }}", "payload": {"a": [1, 2]}, "retries_hint": 3})
        self.assertEqual((t["lb"]["operator_kind"], t["lb"]["is_custom"]), ("bash", True))
        self.assertEqual(t["ob"]["operator_kind"], "custom")
        f = t["f"]
        self.assertEqual((f["operator_kind"], f["is_custom"], f["sensor"]["poke_interval"]), ("custom", True, 9.0))
        self.assertEqual(f["fields"], {"path": "/x"})
        self.assertTrue(f["operator_module"].startswith("unusual_prefix_"))

    def test_attributes_set_before_super_init(self):
        t = self.tasks(in_dag("""
class Early(BaseOperator):
    template_fields = ("src",)
    def __init__(self, src, **kwargs):
        self.src = src
        super().__init__(**kwargs)
    def execute(self, context):
        pass
up = EmptyOperator(task_id="up")
Early(task_id="early", src=[up.output])
""", "from airflow.models import BaseOperator\nfrom airflow.operators.empty import EmptyOperator\n"))
        self.assertEqual(t["early"]["upstream_task_ids"], ["up"])
        self.assertEqual(t["early"]["fields"]["src"],
                         [{"__type": "xcomarg", "__var": {"task_id": "up", "key": "return_value"}}])


class AssetsAndNotifiersTest(DagFileTest):
    def test_outlets_inlets_notifier_literal(self):
        t = self.tasks(in_dag("""
class Slack(BaseNotifier):
    template_fields = ("msg",)
    def __init__(self, msg):
        super().__init__()
        self.msg = msg
    def notify(self, context):
        pass
BashOperator(task_id="b", bash_command=literal("echo {{ not rendered }}"), outlets=[Asset("s3://out"), AssetAlias("al")],
             inlets=[Dataset("s3://in", extra={"k": 1})], on_failure_callback=Slack("x"))
""", "from airflow.sdk import Asset, AssetAlias, BaseNotifier, literal\nfrom airflow.datasets import Dataset\n"
     "from airflow.operators.bash import BashOperator\n"))
        b = t["b"]
        self.assertEqual(b["outlets"], [
            {"__type": "asset", "__var": {"name": "s3://out", "uri": "s3://out", "group": "asset", "extra": {}}},
            {"__type": "asset_alias", "__var": {"name": "al", "group": "asset"}}])
        self.assertEqual(b["inlets"][0]["__var"]["extra"], {"k": 1})
        self.assertTrue(b["callbacks"]["on_failure_callback"])
        self.assertEqual(b["fields"]["bash_command"], {"__type": "literal", "__var": "echo {{ not rendered }}"})

    def test_parsing_context(self):
        from airflow.sdk import get_parsing_context

        self.assertIsNone(get_parsing_context().dag_id)


if __name__ == "__main__":
    unittest.main()
