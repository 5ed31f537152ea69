"""The DAG constructor and @dag: arguments, defaults, validation, schedules."""
import unittest

from tests.helpers import DagFileTest

HEAD = "from datetime import datetime, timedelta\nfrom airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"


class DagArgumentsTest(DagFileTest):
    def test_all_documented_arguments_are_accepted(self):
        # Invariant: every DAG() argument of airflow.md §1.2 parses.
        d = self.dag(HEAD + """
def cb(ctx): pass
with DAG("full", description="d", schedule="@daily", start_date=datetime(2024, 1, 1),
         end_date=datetime(2025, 1, 1), template_searchpath="/tmp", template_undefined=None,
         user_defined_macros={"m": 1}, user_defined_filters={"f": str}, default_args={"owner": "me"},
         max_active_tasks=3, max_active_runs=2, max_consecutive_failed_dag_runs=4,
         dagrun_timeout=timedelta(hours=1), sla_miss_callback=cb, default_view="grid", orientation="LR",
         catchup=True, on_success_callback=cb, on_failure_callback=[cb], doc_md="# hi", params={"p": 1},
         access_control={"role": {"can_read"}}, is_paused_upon_creation=False, jinja_environment_kwargs={},
         render_template_as_native_obj=True, tags=["x"], owner_links={"me": "https://x"}, auto_register=True,
         fail_stop=False, dag_display_name="Full") as dag:
    EmptyOperator(task_id="t")
""")
        self.assertEqual(d["description"], "d")
        self.assertEqual(d["schedule"], {"type": "cron", "expr": "0 0 * * *", "preset": "@daily",
                                         "timezone": "UTC", "timetable": None, "interval": 0.0,
                                         "run_immediately": False})
        self.assertEqual(d["end_date"], "2025-01-01T00:00:00+00:00")
        self.assertEqual(d["template_searchpath"], ["/tmp"])
        self.assertEqual(d["user_defined_macros"], ["m"])
        self.assertEqual(d["user_defined_filters"], ["f"])
        self.assertEqual((d["max_active_tasks"], d["max_active_runs"], d["max_consecutive_failed_dag_runs"]),
                         (3, 2, 4))
        self.assertEqual(d["dagrun_timeout"], 3600.0)
        self.assertTrue(d["catchup"])
        self.assertEqual(d["callbacks"], {"on_success_callback": True, "on_failure_callback": True,
                                          "sla_miss_callback": True})
        self.assertEqual(d["doc_md"], "# hi")
        self.assertEqual(d["access_control"], {"role": {"__type": "set", "__var": ["can_read"]}})
        self.assertIs(d["is_paused_upon_creation"], False)
        self.assertTrue(d["render_template_as_native_obj"])
        self.assertEqual(d["owner_links"], {"me": "https://x"})
        self.assertEqual(d["dag_display_name"], "Full")
        self.assertEqual(d["owner"], "me")

    def test_unknown_keyword_is_a_type_error(self):
        err = self.parse_error(HEAD + 'dag = DAG("x", scheduel="@daily")\n')
        self.assertEqual(err["kind"], "exception")
        self.assertIn("TypeError", err["message"])
        self.assertIn("unexpected keyword argument 'scheduel'", err["message"])
        self.assertEqual(err["line"], 4)

    def test_schedule_and_schedule_interval_together_fail(self):
        err = self.parse_error(HEAD + 'dag = DAG("x", schedule=None, schedule_interval="@daily")\n')
        self.assertIn("At most one allowed", err["message"])

    def test_dag_id_validation(self):
        err = self.parse_error(HEAD + 'dag = DAG("bad id!")\n')
        self.assertIn("alphanumeric characters, dashes, dots and underscores", err["message"])
        err = self.parse_error(HEAD + 'dag = DAG("x" * 251)\n')
        self.assertIn("less than 250 characters", err["message"])

    def test_defaults_when_unset(self):
        # Invariant: unset catchup/max_active_* are null (the deployment decides).
        d = self.dag(HEAD + 'dag = DAG("plain")\n')
        self.assertIsNone(d["catchup"])
        self.assertIsNone(d["max_active_runs"])
        self.assertIsNone(d["max_active_tasks"])
        self.assertEqual(d["schedule"], {"type": "default"})
        self.assertIsNone(d["start_date"])
        self.assertEqual(d["owner"], "airflow")
        self.assertEqual(d["dialect"], "2")

    def test_params_merge_default_args_params_under_params(self):
        d = self.dag(HEAD + """
from airflow.models.param import Param
dag = DAG("p", schedule=None, default_args={"params": {"a": 1, "b": 2}},
          params={"b": Param(5, description="bee", type="integer", minimum=0), "c": "x"})
""")
        self.assertEqual(d["params"]["a"], {"value": 1, "description": None, "schema": {}})
        self.assertEqual(d["params"]["b"], {"value": 5, "description": "bee",
                                            "schema": {"type": "integer", "minimum": 0}})
        self.assertEqual(d["params"]["c"]["value"], "x")

    def test_invalid_param_default_on_scheduled_dag(self):
        err = self.parse_error(HEAD + """
from airflow.models.param import Param
dag = DAG("p", schedule="@daily", start_date=datetime(2024, 1, 1), params={"n": Param("x", type="integer")})
""")
        self.assertEqual(err["kind"], "invalid_dag")
        self.assertIn("Invalid input for param n", err["message"])
        self.assertEqual(err["line"], 6)

    def test_timezone_from_start_date(self):
        d = self.dag(HEAD + """
import pendulum
dag = DAG("tz", schedule="0 6 * * *", start_date=pendulum.datetime(2024, 3, 1, tz="Europe/Paris"))
""")
        self.assertEqual(d["timezone"], "Europe/Paris")
        self.assertEqual(d["start_date"], "2024-03-01T00:00:00+01:00")
        self.assertEqual(d["schedule"]["timezone"], "Europe/Paris")

    def test_tags_sorted_and_too_long_rejected(self):
        d = self.dag(HEAD + 'dag = DAG("t", tags=["b", "a", "b"])\n')
        self.assertEqual(d["tags"], ["a", "b"])
        err = self.parse_error(HEAD + 'dag = DAG("t", tags=["x" * 101])\n')
        self.assertIn("tag cannot be longer than 100 characters", err["message"])

    def test_doc_md_file_is_read(self):
        self.write("README_dag.md", "# From a file\n")
        d = self.dag(HEAD + 'dag = DAG("docs", doc_md="README_dag.md")\n')
        self.assertEqual(d["doc_md"], "# From a file\n")

    def test_owner_from_tasks(self):
        d = self.dag(HEAD + """
with DAG("own") as dag:
    EmptyOperator(task_id="a", owner="zed")
    EmptyOperator(task_id="b", owner="amy")
""")
        self.assertEqual(d["owner"], "amy, zed")

    def test_fail_fast_rejects_other_trigger_rules(self):
        err = self.parse_error(HEAD + """
with DAG("ff", fail_fast=True) as dag:
    EmptyOperator(task_id="a", trigger_rule="all_done")
""")
        self.assertIn("all_success", err["message"])


class ScheduleTest(DagFileTest):
    def sched(self, expr, imports=""):
        return self.dag(HEAD + imports + f'dag = DAG("s", start_date=datetime(2024, 1, 1), schedule={expr})\n')[
            "schedule"]

    def test_schedule_forms(self):
        self.assertEqual(self.sched("None"), {"type": "none"})
        self.assertEqual(self.sched('"@once"'), {"type": "once"})
        self.assertEqual(self.sched('"@continuous"'), {"type": "continuous"})
        self.assertEqual(self.sched('"*/5 * * * *"'), {"type": "cron", "expr": "*/5 * * * *", "preset": None,
                                                       "timezone": "UTC", "timetable": None, "interval": 0.0,
                                                       "run_immediately": False})
        self.assertEqual(self.sched('"@quarterly"')["expr"], "0 0 1 */3 *")
        self.assertEqual(self.sched("timedelta(hours=6)"), {"type": "delta", "seconds": 21600.0, "timetable": None,
                                                            "interval": 0.0})
        self.assertEqual(self.sched("relativedelta(months=1)", "from dateutil.relativedelta import relativedelta\n"),
                         {"type": "relativedelta", "value": {"months": 1}, "timetable": None, "interval": 0.0})

    def test_schedule_interval_spelling(self):
        d = self.dag(HEAD + 'dag = DAG("s", schedule_interval="@hourly", start_date=datetime(2024, 1, 1))\n')
        self.assertEqual(d["schedule"]["expr"], "0 * * * *")

    def test_timetables(self):
        imp = ("from airflow.timetables.trigger import CronTriggerTimetable, MultipleCronTriggerTimetable, "
               "DeltaTriggerTimetable\nfrom airflow.timetables.interval import CronDataIntervalTimetable, "
               "DeltaDataIntervalTimetable\n")
        self.assertEqual(self.sched('CronTriggerTimetable("0 1 * * *", timezone="Asia/Tokyo")', imp),
                         {"type": "cron", "expr": "0 1 * * *", "preset": None, "timezone": "Asia/Tokyo",
                          "timetable": "trigger", "interval": 0.0, "run_immediately": False})
        self.assertEqual(self.sched('CronDataIntervalTimetable("@daily", timezone="UTC")', imp)["timetable"],
                         "data_interval")
        self.assertEqual(self.sched("DeltaTriggerTimetable(timedelta(minutes=30))", imp),
                         {"type": "delta", "seconds": 1800.0, "timetable": "trigger", "interval": 0.0})
        self.assertEqual(self.sched("DeltaDataIntervalTimetable(timedelta(days=2))", imp)["timetable"],
                         "data_interval")
        multi = self.sched('MultipleCronTriggerTimetable("0 1 * * *", "0 13 * * *", timezone="UTC")', imp)
        self.assertEqual(multi["type"], "timetable")
        self.assertEqual(multi["class"], "airflow.timetables.trigger.MultipleCronTriggerTimetable")
        self.assertEqual(multi["args"]["expressions"], ["0 1 * * *", "0 13 * * *"])

    def test_user_timetable_subclass(self):
        d = self.dag(HEAD + """
from airflow.timetables.base import Timetable
class Workdays(Timetable):
    description = "After each workday"
    def serialize(self):
        return {"hour": 18}
dag = DAG("s", schedule=Workdays(), start_date=datetime(2024, 1, 1))
""")
        s = d["schedule"]
        self.assertEqual(s["type"], "timetable")
        self.assertTrue(s["class"].endswith(".Workdays"))
        self.assertEqual(s["description"], "After each workday")
        self.assertEqual(s["args"], {"hour": 18})

    def test_asset_schedules(self):
        s = self.sched('[Dataset("s3://a"), Dataset("s3://b")]', "from airflow.datasets import Dataset\n")
        self.assertEqual(s["type"], "assets")
        self.assertEqual([c["asset"]["uri"] for c in s["condition"]["all"]], ["s3://a", "s3://b"])
        s = self.sched('(Asset("a") & Asset("b")) | Asset(name="c", uri="s3://c")', "from airflow.sdk import Asset\n")
        self.assertEqual(list(s["condition"]), ["any"])
        first, second = s["condition"]["any"]
        self.assertEqual([c["asset"]["name"] for c in first["all"]], ["a", "b"])
        self.assertEqual(second["asset"], {"name": "c", "uri": "s3://c", "group": "asset", "extra": {}})

    def test_asset_or_time(self):
        s = self.sched('AssetOrTimeSchedule(timetable=CronTriggerTimetable("@daily", timezone="UTC"), '
                       'assets=[Asset("x")])',
                       "from airflow.sdk import Asset\nfrom airflow.timetables.assets import AssetOrTimeSchedule\n"
                       "from airflow.timetables.trigger import CronTriggerTimetable\n")
        self.assertEqual(s["type"], "asset_or_time")
        self.assertEqual(s["timetable"]["timetable"], "trigger")
        self.assertEqual(s["condition"]["all"][0]["asset"]["uri"], "x")

    def test_invalid_cron_is_invalid_dag(self):
        err = self.parse_error(HEAD + 'dag = DAG("s", schedule="every day", start_date=datetime(2024, 1, 1))\n')
        self.assertEqual(err["kind"], "invalid_dag")
        self.assertIn("Invalid Cron expression", err["message"])
        self.assertEqual(err["line"], 4)

    def test_empty_dataset_uri_rejected(self):
        err = self.parse_error(HEAD + 'from airflow.datasets import Dataset\ndag = DAG("s", schedule=[Dataset("")])\n')
        self.assertIn("cannot be empty", err["message"])


class DagDecoratorTest(DagFileTest):
    def test_dag_id_defaults_to_function_name_and_args_become_params(self):
        d = self.dag("""
from datetime import datetime
from airflow.decorators import dag, task
@dag(schedule=None, start_date=datetime(2024, 1, 1))
def my_pipeline(name: str = "world", n: int = 3):
    '''Pipeline docs.'''
    @task
    def hello(x):
        return x
    hello(name)
my_pipeline()
""")
        self.assertEqual(d["dag_id"], "my_pipeline")
        self.assertEqual(d["params"]["name"]["value"], "world")
        self.assertEqual(d["params"]["n"]["value"], 3)
        self.assertEqual(d["doc_md"], "Pipeline docs.")
        hello = d["tasks"][0]
        self.assertEqual(hello["python"]["op_args"], [{"__type": "dag_param", "__var": {"name": "name"}}])

    def test_explicit_dag_id_and_call_arguments(self):
        d = self.dag("""
from airflow.sdk import dag
@dag("explicit_id", schedule="@hourly")
def f(x=1):
    pass
dag_obj = f(x=7)
""")
        self.assertEqual(d["dag_id"], "explicit_id")
        self.assertEqual(d["params"]["x"]["value"], 7)
        self.assertEqual(d["dialect"], "3")

    def test_uncalled_dag_function_gives_no_dag(self):
        result = self.parse_ok("""
from airflow.decorators import dag
@dag()
def never_called():
    pass
""")
        self.assertEqual(result["dags"], [])


class DagCollectionTest(DagFileTest):
    def test_globals_and_context_manager_dags_collected_sorted(self):
        result = self.parse_ok(HEAD + """
b = DAG("b_dag")
with DAG("a_dag"):
    EmptyOperator(task_id="t")
def factory():
    with DAG("c_dag"):
        pass
factory()
DAG("not_registered")  # neither global nor context-managed: Airflow ignores it
""")
        self.assertEqual([d["dag_id"] for d in result["dags"]], ["a_dag", "b_dag", "c_dag"])
        self.assertTrue(all(d["fileloc"].endswith("dag_file.py") for d in result["dags"]))

    def test_auto_register_false(self):
        result = self.parse_ok(HEAD + """
def factory():
    with DAG("hidden", auto_register=False):
        pass
factory()
""")
        self.assertEqual(result["dags"], [])

    def test_duplicate_dag_id_in_one_file(self):
        err = self.parse_error(HEAD + 'a = DAG("same")\nb = DAG("same")\n')
        self.assertEqual(err["kind"], "invalid_dag")
        self.assertIn("'same' is defined more than once", err["message"])


if __name__ == "__main__":
    unittest.main()
