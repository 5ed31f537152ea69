"""Test-environment pipeline showing trigger rules and setup/teardown (Airflow 2 imports).

Covers: every trigger rule Airflow 2.10 has (``all_success``, ``all_failed``,
``all_done``, ``all_done_setup_success``, ``all_skipped``, ``one_success``,
``one_failed``, ``one_done``, ``none_failed``, ``none_failed_min_one_success``,
``none_skipped``, ``always``) as strings and as ``TriggerRule`` members, plus the
deprecated aliases ``none_failed_or_skipped`` and ``dummy``;
``@setup`` / ``@teardown`` decorators and ``.as_setup()`` / ``.as_teardown(setups=...)``
on classic operators; ShortCircuitOperator with
``ignore_downstream_trigger_rules=False`` feeding the rules.
(``all_done_min_one_success`` is 3.1-only: see example_trigger_rules_v3.py.)
"""
from datetime import datetime

from airflow import DAG
from airflow.decorators import setup, task, teardown
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import ShortCircuitOperator
from airflow.utils.trigger_rule import TriggerRule

with DAG(
    dag_id="example_trigger_rules_v2",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "trigger_rules", "v2"],
) as dag:

    @setup
    def create_test_env() -> str:
        return "env-123"

    @teardown
    def destroy_test_env(env_id: str) -> None:
        print("destroying", env_id)

    env = create_test_env()

    start_db = BashOperator(task_id="start_test_db", bash_command="echo starting db").as_setup()
    stop_db = BashOperator(task_id="stop_test_db", bash_command="echo stopping db")

    run_unit_tests = BashOperator(task_id="run_unit_tests", bash_command="echo unit tests")
    run_integration_tests = BashOperator(task_id="run_integration_tests", bash_command="echo integration tests")
    should_run_perf = ShortCircuitOperator(
        task_id="should_run_perf_tests",
        python_callable=lambda: False,
        ignore_downstream_trigger_rules=False,
    )
    run_perf_tests = BashOperator(task_id="run_perf_tests", bash_command="echo perf tests")

    env >> start_db >> [run_unit_tests, run_integration_tests, should_run_perf]
    should_run_perf >> run_perf_tests
    [run_unit_tests, run_integration_tests, run_perf_tests] >> stop_db.as_teardown(setups=start_db)
    stop_db >> destroy_test_env(env)

    tests = [run_unit_tests, run_integration_tests, run_perf_tests]

    publish_results = EmptyOperator(task_id="publish_results")  # all_success (default)
    tests >> publish_results
    tests >> EmptyOperator(task_id="page_oncall", trigger_rule=TriggerRule.ALL_FAILED)
    tests >> EmptyOperator(task_id="collect_logs", trigger_rule="all_done")
    tests >> EmptyOperator(task_id="upload_coverage", trigger_rule=TriggerRule.ALL_DONE_SETUP_SUCCESS)
    tests >> EmptyOperator(task_id="report_nothing_ran", trigger_rule="all_skipped")
    tests >> EmptyOperator(task_id="mark_partial_green", trigger_rule=TriggerRule.ONE_SUCCESS)
    tests >> EmptyOperator(task_id="open_bug_ticket", trigger_rule="one_failed")
    tests >> EmptyOperator(task_id="notify_first_result", trigger_rule=TriggerRule.ONE_DONE)
    tests >> EmptyOperator(task_id="update_dashboard", trigger_rule="none_failed")
    tests >> EmptyOperator(task_id="tag_release_candidate", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    tests >> EmptyOperator(task_id="certify_full_run", trigger_rule="none_skipped")
    tests >> EmptyOperator(task_id="write_audit_record", trigger_rule=TriggerRule.ALWAYS)
    tests >> EmptyOperator(task_id="legacy_join", trigger_rule="none_failed_or_skipped")
    tests >> EmptyOperator(task_id="legacy_always", trigger_rule="dummy")
