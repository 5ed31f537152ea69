"""The official apache-airflow-client 2.10 against a running Updraft (/api/v1).

Run by updraft/tests/api_client_v1.rs with the v2 venv of scripts/api-clients.sh.
Prints one JSON line: {"ok": true, "checks": {...}} or {"ok": false, "error": ...};
exits 0 only when every step passed.

    client_v2.py --base-url URL --user U --password P --dag-id D --task-id T --cron-dag-id C
"""

import argparse
import json
import sys
import time
import traceback

import airflow_client.client as client
from airflow_client.client.api import (
    connection_api,
    dag_api,
    dag_run_api,
    import_error_api,
    monitoring_api,
    pool_api,
    task_instance_api,
    variable_api,
    x_com_api,
)
from airflow_client.client.model.connection import Connection
from airflow_client.client.model.pool import Pool
from airflow_client.client.model.clear_task_instances import ClearTaskInstances
from airflow_client.client.model.dag import DAG
from airflow_client.client.model.dag_run import DAGRun
from airflow_client.client.model.variable import Variable


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
    for a in ("--base-url", "--user", "--password", "--dag-id", "--task-id", "--cron-dag-id"):
        p.add_argument(a, required=True)
    args = p.parse_args()
    checks = {}
    try:
        cfg = client.Configuration(host=args.base_url + "/api/v1", username=args.user, password=args.password)
        with client.ApiClient(cfg) as api:
            dags = dag_api.DAGApi(api)
            runs = dag_run_api.DAGRunApi(api)
            tis = task_instance_api.TaskInstanceApi(api)
            xcoms = x_com_api.XComApi(api)
            variables = variable_api.VariableApi(api)

            listed = dags.get_dags(dag_id_pattern=args.dag_id)
            checks["listed"] = [d.dag_id for d in listed.dags]
            assert args.dag_id in checks["listed"], checks["listed"]

            patched = dags.patch_dag(args.dag_id, DAG(is_paused=False), update_mask=["is_paused"])
            checks["unpaused"] = patched.is_paused is False
            assert checks["unpaused"]

            run = runs.post_dag_run(
                args.dag_id, DAGRun(dag_run_id="api_client_v1_run", conf={"greeting": "hello-from-v1"})
            )
            checks["triggered"] = run.dag_run_id
            checks["external_trigger"] = run.external_trigger
            checks["run_state"] = wait_for_end(runs, args.dag_id, run.dag_run_id)
            assert checks["run_state"] == "success", checks["run_state"]

            listed_tis = tis.get_task_instances(args.dag_id, run.dag_run_id)
            checks["task_instances"] = sorted(
                (t.task_id, str(t.state.value) if t.state else None) for t in listed_tis.task_instances
            )
            log = tis.get_log(args.dag_id, run.dag_run_id, args.task_id, 1)
            checks["log_has_greeting"] = "hello-from-v1" in log.content
            assert checks["log_has_greeting"], log.content

            entry = xcoms.get_xcom_entry(args.dag_id, run.dag_run_id, args.task_id, "return_value", deserialize=True)
            checks["xcom"] = entry.value
            assert entry.value == "hello-from-v1", entry.value

            cleared = dags.post_clear_task_instances(
                args.dag_id,
                ClearTaskInstances(
                    dry_run=False, dag_run_id=run.dag_run_id, task_ids=[args.task_id], only_failed=False
                ),
            )
            checks["cleared"] = [t.task_id for t in cleared.task_instances]
            assert checks["cleared"] == [args.task_id], checks["cleared"]
            checks["rerun_state"] = wait_for_end(runs, args.dag_id, run.dag_run_id)
            again = tis.get_task_instance(args.dag_id, run.dag_run_id, args.task_id)
            checks["try_after_clear"] = again.try_number
            assert checks["rerun_state"] == "success" and again.try_number == 2, checks

            variables.post_variables(Variable(key="api_client_v1_var", value="v1-value"))
            got = variables.get_variable("api_client_v1_var")
            checks["variable"] = got.value
            assert got.value == "v1-value", got.value

            # The other shapes the client checks: a cron schedule, a
            # connection (no password back), a pool, import errors, health.
            cron = dags.get_dag(args.cron_dag_id)
            checks["cron_schedule"] = cron.schedule_interval.to_dict()
            connections = connection_api.ConnectionApi(api)
            connections.post_connection(
                Connection(connection_id="api_v1_conn", conn_type="postgres", host="db", password="secret")
            )
            conn = connections.get_connection("api_v1_conn")
            checks["connection"] = conn.to_dict()
            assert conn.host == "db" and "password" not in conn.to_dict(), conn
            pools = pool_api.PoolApi(api)
            pools.post_pool(Pool(name="api_v1_pool", slots=2))
            listed_pools = pools.get_pools()
            checks["pools"] = sorted((p.name, p.open_slots) for p in listed_pools.pools)
            checks["import_errors"] = import_error_api.ImportErrorApi(api).get_import_errors().total_entries
            health = monitoring_api.MonitoringApi(api).get_health()
            checks["metadatabase"] = str(health.metadatabase.status.value)
            checks["version"] = monitoring_api.MonitoringApi(api).get_version().version
        print(json.dumps({"ok": True, "checks": checks}, default=str))
        return 0
    except Exception as e:  # noqa: BLE001 - reported as the test's failure
        print(traceback.format_exc(), file=sys.stderr)
        print(json.dumps({"ok": False, "error": repr(e), "checks": checks}, default=str))
        return 1


if __name__ == "__main__":
    sys.exit(main())
