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
from airflow_client.client.api import dag_api, dag_run_api, task_instance_api, variable_api, x_com_api
from airflow_client.client.models import (
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
        print(json.dumps({"ok": True, "checks": checks}, default=str))
        return 0
    except Exception as e:  # noqa: BLE001 - reported as the test's failure
        print(traceback.format_exc(), file=sys.stderr)
        print(json.dumps({"ok": False, "error": repr(e), "checks": checks}, default=str))
        return 1


if __name__ == "__main__":
    sys.exit(main())
