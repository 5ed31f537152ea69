"""Every supported module path imports, exposes its names, and shares class
identity across 2.x and 3.x paths; unsupported modules fail clearly."""
import importlib
import importlib.util
import unittest

from tests import helpers  # noqa: F401 - puts the compat dir on sys.path

MODULES = {
    "airflow": ["DAG", "Dataset"],
    "airflow.models": ["DAG", "BaseOperator", "Variable", "Connection", "Param", "XComArg", "DagRun", "TaskInstance"],
    "airflow.models.dag": ["DAG"],
    "airflow.models.baseoperator": ["BaseOperator", "chain", "chain_linear", "cross_downstream"],
    "airflow.models.param": ["Param", "ParamsDict"],
    "airflow.models.variable": ["Variable"],
    "airflow.models.xcom_arg": ["XComArg"],
    "airflow.operators.bash": ["BashOperator"],
    "airflow.operators.python": ["PythonOperator", "BranchPythonOperator", "ShortCircuitOperator",
                                 "PythonVirtualenvOperator", "ExternalPythonOperator",
                                 "BranchPythonVirtualenvOperator", "BranchExternalPythonOperator",
                                 "get_current_context"],
    "airflow.operators.empty": ["EmptyOperator"],
    "airflow.operators.dummy": ["DummyOperator"],
    "airflow.operators.trigger_dagrun": ["TriggerDagRunOperator"],
    "airflow.operators.latest_only": ["LatestOnlyOperator"],
    "airflow.operators.datetime": ["BranchDateTimeOperator"],
    "airflow.operators.weekday": ["BranchDayOfWeekOperator"],
    "airflow.operators.branch": ["BaseBranchOperator"],
    "airflow.operators.bash_operator": ["BashOperator"],
    "airflow.operators.python_operator": ["PythonOperator", "BranchPythonOperator", "ShortCircuitOperator"],
    "airflow.operators.dummy_operator": ["DummyOperator"],
    "airflow.sensors.external_task_sensor": ["ExternalTaskSensor"],
    "airflow.sensors.weekday": ["DayOfWeekSensor"],
    "airflow.sensors.base": ["BaseSensorOperator", "PokeReturnValue"],
    "airflow.sensors.bash": ["BashSensor"],
    "airflow.sensors.python": ["PythonSensor"],
    "airflow.sensors.filesystem": ["FileSensor"],
    "airflow.sensors.time_sensor": ["TimeSensor"],
    "airflow.sensors.time_delta": ["TimeDeltaSensor"],
    "airflow.sensors.date_time": ["DateTimeSensor"],
    "airflow.sensors.external_task": ["ExternalTaskSensor", "ExternalTaskMarker"],
    "airflow.decorators": ["dag", "task", "task_group", "setup", "teardown"],
    "airflow.utils.task_group": ["TaskGroup"],
    "airflow.utils.trigger_rule": ["TriggerRule"],
    "airflow.utils.edgemodifier": ["Label"],
    "airflow.utils.dates": ["days_ago"],
    "airflow.utils.timezone": ["utcnow", "datetime", "make_aware"],
    "airflow.utils.helpers": ["chain", "cross_downstream"],
    "airflow.utils.context": ["Context"],
    "airflow.datasets": ["Dataset"],
    "airflow.timetables.trigger": ["CronTriggerTimetable", "MultipleCronTriggerTimetable", "DeltaTriggerTimetable"],
    "airflow.timetables.interval": ["CronDataIntervalTimetable", "DeltaDataIntervalTimetable"],
    "airflow.timetables.base": ["Timetable"],
    "airflow.timetables.simple": ["NullTimetable", "OnceTimetable", "ContinuousTimetable"],
    "airflow.exceptions": ["AirflowException", "AirflowSkipException", "AirflowFailException",
                           "AirflowSensorTimeout", "AirflowTaskTimeout", "DuplicateTaskIdFound",
                           "AirflowDagCycleException", "AirflowNotFoundException", "TaskDeferred",
                           "AirflowOptionalProviderFeatureException", "ParamValidationError"],
    "airflow.configuration": ["conf"],
    "airflow.hooks.base": ["BaseHook"],
    "airflow.macros": ["ds_add", "ds_format"],
    "airflow.sdk": ["DAG", "dag", "task", "task_group", "TaskGroup", "BaseOperator", "BaseSensorOperator",
                    "PokeReturnValue", "Param", "Variable", "Connection", "Label", "EdgeModifier", "chain",
                    "chain_linear", "cross_downstream", "Asset", "AssetAlias", "AssetAll", "AssetAny", "Metadata",
                    "XComArg", "TriggerRule", "WeightRule", "get_current_context", "literal", "setup", "teardown",
                    "BaseHook", "BaseNotifier", "Context", "DagRunState", "TaskInstanceState",
                    "get_parsing_context"],
    "airflow.sdk.exceptions": ["AirflowException", "AirflowSkipException"],
    "airflow.sdk.bases.operator": ["BaseOperator"],
    "airflow.sdk.bases.sensor": ["BaseSensorOperator"],
    "airflow.sdk.bases.notifier": ["BaseNotifier"],
    "airflow.sdk.bases.hook": ["BaseHook"],
    "airflow.sdk.definitions.taskgroup": ["TaskGroup"],
    "airflow.sdk.definitions.asset": ["Asset"],
    "airflow.providers.standard.operators.empty": ["EmptyOperator"],
    "airflow.providers.standard.operators.bash": ["BashOperator"],
    "airflow.providers.standard.operators.python": ["PythonOperator"],
    "airflow.providers.standard.operators.trigger_dagrun": ["TriggerDagRunOperator"],
    "airflow.providers.standard.operators.latest_only": ["LatestOnlyOperator"],
    "airflow.providers.standard.operators.datetime": ["BranchDateTimeOperator"],
    "airflow.providers.standard.operators.weekday": ["BranchDayOfWeekOperator"],
    "airflow.providers.standard.operators.hitl": ["HITLOperator", "ApprovalOperator", "HITLBranchOperator",
                                                  "HITLEntryOperator"],
    "airflow.providers.standard.sensors.bash": ["BashSensor"],
    "airflow.providers.standard.sensors.python": ["PythonSensor"],
    "airflow.providers.standard.sensors.filesystem": ["FileSensor"],
    "airflow.providers.standard.sensors.time": ["TimeSensor"],
    "airflow.providers.standard.sensors.time_delta": ["TimeDeltaSensor"],
    "airflow.providers.standard.sensors.date_time": ["DateTimeSensor"],
    "airflow.providers.standard.sensors.external_task": ["ExternalTaskSensor", "ExternalTaskMarker"],
    "airflow.providers.common.compat.sdk": ["BaseOperator", "DAG", "task", "Asset"],
    "airflow.task.trigger_rule": ["TriggerRule"],
    "airflow.providers.apache.kafka.operators.produce": ["ProduceToTopicOperator"],
    "airflow.providers.apache.kafka.operators.consume": ["ConsumeFromTopicOperator"],
    "airflow.providers.apache.kafka.sensors.kafka": ["AwaitMessageSensor", "AwaitMessageTriggerFunctionSensor"],
    "airflow.providers.apache.kafka.operators.kafka_produce": ["KafkaProduceOperator"],
    "airflow.providers.apache.kafka.operators.kafka_consume": ["KafkaConsumeOperator"],
    "airflow.providers.apache.kafka.hooks.base": ["KafkaBaseHook"],
    "airflow.providers.apache.kafka.hooks.produce": ["KafkaProducerHook"],
    "airflow.providers.apache.kafka.hooks.consume": ["KafkaConsumerHook"],
    "airflow.providers.apache.kafka.hooks.client": ["KafkaAdminClientHook"],
}


class ImportPathsTest(unittest.TestCase):
    def test_every_module_exposes_its_names(self):
        # Invariant: DAG files written for 2.10 or 3.1 import unchanged.
        for name, attrs in MODULES.items():
            mod = importlib.import_module(name)
            for attr in attrs:
                self.assertTrue(hasattr(mod, attr), f"{name}.{attr} missing")

    def test_same_class_through_2x_and_3x_paths(self):
        # Invariant: a class that did not change between 2.10 and 3.1 has one identity whichever path
        # it came from (the ones that changed: see test_dialects).
        from airflow.models import DAG as DAG2
        from airflow.operators.bash import BashOperator as B2
        from airflow.providers.standard.operators.bash import BashOperator as B3
        from airflow.sdk import DAG as DAG3
        from airflow.sdk import TaskGroup as TG3
        from airflow.utils.task_group import TaskGroup as TG2

        self.assertIs(B2, B3)
        self.assertIs(DAG2, DAG3)
        self.assertIs(TG2, TG3)

    def test_every_public_module_has_a_docstring(self):
        import pkgutil

        import airflow

        for info in pkgutil.walk_packages(airflow.__path__, "airflow."):
            mod = importlib.import_module(info.name)
            self.assertTrue((mod.__doc__ or "").strip(), f"{info.name} has no docstring")


class UnsupportedModuleTest(unittest.TestCase):
    def test_unsupported_provider_names_the_full_module(self):
        # Invariant: an unsupported import fails loudly, naming what was asked for.
        with self.assertRaises(ModuleNotFoundError) as cm:
            importlib.import_module("airflow.providers.google.cloud.operators.bigquery")
        msg = str(cm.exception)
        self.assertIn("Updraft does not provide 'airflow.providers.google.cloud.operators.bigquery'", msg)
        self.assertIn("airflow.providers.standard", msg)
        self.assertIn("docs/airflow-compatibility.md", msg)
        self.assertEqual(cm.exception.name, "airflow.providers.google.cloud.operators.bigquery")

    def test_from_import_statement(self):
        with self.assertRaises(ModuleNotFoundError) as cm:
            exec("from airflow.contrib.operators.ssh_operator import SSHOperator", {})
        self.assertIn("'airflow.contrib.operators.ssh_operator'", str(cm.exception))

    def test_non_airflow_modules_are_not_affected(self):
        with self.assertRaises(ModuleNotFoundError) as cm:
            importlib.import_module("definitely_not_a_module_xyz")
        self.assertNotIn("Updraft", str(cm.exception))

    def test_find_spec_probe_returns_none(self):
        # Invariant: optional-dependency probing keeps working.
        self.assertIsNone(importlib.util.find_spec("airflow.providers.cncf"))

    def test_unknown_task_decorator_variant(self):
        from airflow.decorators import task

        with self.assertRaises(AttributeError) as cm:
            task.docker  # noqa: B018
        self.assertIn("@task.docker", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
