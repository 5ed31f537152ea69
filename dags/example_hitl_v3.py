"""Release sign-off with human-in-the-loop operators (Airflow 3.1+ only).

Covers: ApprovalOperator (templated subject/body, ``defaults``, timeout via
``execution_timeout``), HITLOperator with ``options`` / ``multiple`` /
``defaults`` / ``params`` / ``assigned_users``, HITLBranchOperator with
``options_mapping`` choosing the downstream path, and HITLEntryOperator
(form-only, default ``OK`` option). Every task here waits for a person at run
time; the DAG only needs to load.
"""
from datetime import timedelta

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import (
    ApprovalOperator,
    HITLBranchOperator,
    HITLEntryOperator,
    HITLOperator,
)
from airflow.sdk import DAG, Param

with DAG(
    dag_id="example_hitl_v3",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    params={"version": Param("1.0.0", type="string", description="Version to release")},
    tags=["example", "hitl", "v3"],
) as dag:
    build = BashOperator(task_id="build_release", bash_command="echo building {{ params.version }}")

    approve = ApprovalOperator(
        task_id="approve_release",
        subject="Release {{ params.version }}?",
        body="Build **{{ params.version }}** is ready. Approve to continue.",
        defaults="Reject",
        execution_timeout=timedelta(hours=4),
    )

    regions = HITLOperator(
        task_id="choose_regions",
        subject="Which regions get {{ params.version }}?",
        options=["eu", "us", "apac"],
        multiple=True,
        defaults=["eu", "us"],
        params={
            "max_error_rate": Param(0.01, type="number", minimum=0, maximum=1),
            "window": Param("business_hours", type="string", enum=["business_hours", "night"]),
        },
        assigned_users=[{"id": "1", "name": "release-manager"}],
    )

    rollout = HITLBranchOperator(
        task_id="choose_rollout",
        subject="Rollout strategy",
        options=["Canary first", "Everything at once"],
        options_mapping={"Canary first": "deploy_canary", "Everything at once": "deploy_full"},
        defaults="Canary first",
    )
    deploy_canary = BashOperator(task_id="deploy_canary", bash_command="echo canary")
    deploy_full = BashOperator(task_id="deploy_full", bash_command="echo full rollout")
    deployed = EmptyOperator(task_id="deployed", trigger_rule="none_failed_min_one_success")

    notes = HITLEntryOperator(
        task_id="release_notes",
        subject="Release notes for {{ params.version }}",
        params={"notes": Param("No notable changes", type="string"), "ticket": Param(0, type="integer")},
    )
    publish = BashOperator(task_id="publish_notes", bash_command="echo publishing notes")

    build >> approve >> regions >> rollout >> [deploy_canary, deploy_full] >> deployed >> notes >> publish
