"""The official apache-airflow-client 3.1 against a running Updraft (/api/v2).

Run by updraft/tests/api_client.rs with the venv of scripts/api-clients.sh.
Prints one JSON line: {"ok": true, "checks": {...}} or {"ok": false, "error": ...};
exits 0 only when every step passed.

    client_v3.py --base-url URL --user U --password P --dag-id D --task-id T
"""

import argparse
import json
import sys
import time
import traceback
import urllib.request

import airflow_client.client as client
from airflow_client.client.api import backfill_api, dag_api, dag_run_api, task_instance_api, variable_api, x_com_api
from airflow_client.client.models import (
    BackfillPostBody,
    UpdateHITLDetailPayload,
    ClearTaskInstancesBody,
    ClearTaskInstancesBodyTaskIdsInner,
    DAGPatchBody,
    TriggerDAGRunPostBody,
    VariableBody,
)


def token(base_url, user, password):
    req = urllib.request.Request(
        base_url + "/auth/token",
        data=json.dumps({"username": user, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        assert res.status == 201, res.status
        return json.load(res)["access_token"]


def wait_for_end(runs, dag_id, run_id, seconds=90):
    deadline = time.monotonic() + seconds
    state = None
    while time.monotonic() < deadline:
        state = str(runs.get_dag_run(dag_id, run_id).state.value)
        if state in ("success", "failed"):
            return state
        time.sleep(0.25)
    return state


def backfill(api, checks, dag_id="api_client_daily"):
    """Backfills two days and waits for both runs to succeed."""
    dags = dag_api.DAGApi(api)
    runs = dag_run_api.DagRunApi(api)
    backfills = backfill_api.BackfillApi(api)
    dags.patch_dag(dag_id, DAGPatchBody(is_paused=False))
    body = BackfillPostBody(
        dag_id=dag_id,
        from_date="2026-02-01T00:00:00Z",
        to_date="2026-02-02T00:00:00Z",
        max_active_runs=2,
        dag_run_conf={},
    )
    dry = backfills.create_backfill_dry_run(body)
    checks["backfill_dry_run"] = [b.logical_date.isoformat() for b in dry.backfills]
    assert dry.total_entries == 2, dry
    created = backfills.create_backfill(body)
    checks["backfill_id"] = created.id
    listed = backfills.list_backfills(dag_id=dag_id)
    assert [b.id for b in listed.backfills] == [created.id], listed
    deadline = time.monotonic() + 90
    states = []
    while time.monotonic() < deadline:
        page = runs.get_dag_runs(dag_id, run_type=["backfill"])
        states = sorted(str(r.state.value) for r in page.dag_runs)
        if len(states) == 2 and all(s in ("success", "failed") for s in states):
            break
        time.sleep(0.25)
    checks["backfill_runs"] = states
    assert states == ["success", "success"], states


def approve(api, checks, dag_id="api_client_hitl"):
    """Triggers the gated DAG, answers the approval, waits for the task after it."""
    dags = dag_api.DAGApi(api)
    runs = dag_run_api.DagRunApi(api)
    tis = task_instance_api.TaskInstanceApi(api)
    dags.patch_dag(dag_id, DAGPatchBody(is_paused=False))
    run = runs.trigger_dag_run(dag_id, TriggerDAGRunPostBody(dag_run_id="hitl_run", logical_date=None))
    deadline = time.monotonic() + 90
    pending = []
    while time.monotonic() < deadline:
        pending = [d for d in tis.get_hitl_details(dag_id, run.dag_run_id).hitl_details if not d.response_received]
        if pending:
            break
        time.sleep(0.25)
    assert pending, "no pending approval"
    checks["hitl_subject"] = pending[0].subject
    answer = tis.update_hitl_detail(
        dag_id, run.dag_run_id, "gate", -1, UpdateHITLDetailPayload(chosen_options=["Approve"])
    )
    checks["hitl_answered"] = answer.chosen_options
    checks["hitl_state"] = wait_for_end(runs, dag_id, run.dag_run_id)
    after = tis.get_task_instance(dag_id, run.dag_run_id, "after")
    checks["after_state"] = str(after.state.value) if after.state else None
    assert checks["after_state"] == "success", checks


def main():
    p = argparse.ArgumentParser()
    for a in ("--base-url", "--user", "--password", "--dag-id", "--task-id"):
        p.add_argument(a, required=True)
    args = p.parse_args()
    checks = {}
    try:
        cfg = client.Configuration(host=args.base_url)
        cfg.access_token = token(args.base_url, args.user, args.password)
        with client.ApiClient(cfg) as api:
            dags = dag_api.DAGApi(api)
            runs = dag_run_api.DagRunApi(api)
            tis = task_instance_api.TaskInstanceApi(api)
            xcoms = x_com_api.XComApi(api)
            variables = variable_api.VariableApi(api)

            listed = dags.get_dags(dag_id_pattern=args.dag_id)
            checks["listed"] = [d.dag_id for d in listed.dags]
            assert args.dag_id in checks["listed"], checks["listed"]

            patched = dags.patch_dag(args.dag_id, DAGPatchBody(is_paused=False))
            checks["unpaused"] = patched.is_paused is False
            assert checks["unpaused"]

            run = runs.trigger_dag_run(
                args.dag_id,
                TriggerDAGRunPostBody(
                    dag_run_id="api_client_run", logical_date=None, conf={"greeting": "hello-from-client"}
                ),
            )
            checks["triggered"] = run.dag_run_id
            checks["conf"] = run.conf
            checks["run_state"] = wait_for_end(runs, args.dag_id, run.dag_run_id)
            assert checks["run_state"] == "success", checks["run_state"]

            listed_tis = tis.get_task_instances(args.dag_id, run.dag_run_id)
            checks["task_instances"] = sorted(
                (t.task_id, str(t.state.value) if t.state else None) for t in listed_tis.task_instances
            )
            log = tis.get_log(args.dag_id, run.dag_run_id, args.task_id, 1)
            events = [m.event for m in log.content.actual_instance] if hasattr(log.content, "actual_instance") \
                else [m.event for m in log.content]
            checks["log_lines"] = len(events)
            checks["log_has_greeting"] = any("hello-from-client" in e for e in events)
            assert checks["log_has_greeting"], events

            entry = xcoms.get_xcom_entry(args.dag_id, args.task_id, run.dag_run_id, "return_value", deserialize=True)
            inner = getattr(entry, "actual_instance", entry)
            checks["xcom"] = inner.value
            assert inner.value == "hello-from-client", inner.value

            cleared = tis.post_clear_task_instances(
                args.dag_id,
                ClearTaskInstancesBody(
                    dry_run=False, dag_run_id=run.dag_run_id, task_ids=[ClearTaskInstancesBodyTaskIdsInner(args.task_id)],
                    only_failed=False,
                ),
            )
            checks["cleared"] = [t.task_id for t in cleared.task_instances]
            assert checks["cleared"] == [args.task_id], checks["cleared"]
            checks["rerun_state"] = wait_for_end(runs, args.dag_id, run.dag_run_id)
            again = tis.get_task_instance(args.dag_id, run.dag_run_id, args.task_id)
            checks["try_after_clear"] = again.try_number
            assert checks["rerun_state"] == "success" and again.try_number == 2, checks

            variables.post_variable(VariableBody(key="api_client_var", value="v-1", description="from the client"))
            got = variables.get_variable("api_client_var")
            checks["variable"] = got.value
            assert got.value == "v-1", got.value

            backfill(api, checks)
            approve(api, checks)
        print(json.dumps({"ok": True, "checks": checks}, default=str))
        return 0
    except Exception as e:  # noqa: BLE001 - reported as the test's failure
        print(traceback.format_exc(), file=sys.stderr)
        print(json.dumps({"ok": False, "error": repr(e), "checks": checks}, default=str))
        return 1


if __name__ == "__main__":
    sys.exit(main())
