#!/usr/bin/env python3
"""Writes the SQL of the API benchmark's database to stdout: `bench_api`, a
paused DAG of 5 chained tasks with 10,000 finished runs (50,000 task
instances), and 200 other DAGs with 50 runs each (so `dag_run` holds 20,000
rows and the list must filter by DAG), inserted directly: nothing runs.
Paused, so the runs the benchmark triggers are queued and never executed."""
import json

TASKS, RUNS, OTHER_DAGS, OTHER_RUNS = 5, 10_000, 200, 50

tasks = [{"task_id": f"step_{i}", "task_type": "EmptyOperator", "operator_kind": "empty",
          "upstream_task_ids": [f"step_{i - 1}"] if i else [],
          "downstream_task_ids": [f"step_{i + 1}"] if i + 1 < TASKS else []}
         for i in range(TASKS)]
data = {"dag_id": "bench_api", "fileloc": "/dags/bench_api.py", "schedule": {"type": "none"},
        "start_date": "2026-01-01T00:00:00+00:00", "catchup": False, "owner": "bench",
        "tags": ["bench"], "tasks": tasks}


def q(s):
    return "'" + s.replace("'", "''") + "'"


print(f"""
BEGIN;
INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, owners, schedule, schedule_summary)
SELECT 'dag_' || lpad(n::text, 4, '0'), '/dags/many.py', 'many.py', false, 'bench', '{{}}', '@daily'
  FROM generate_series(1, {OTHER_DAGS}) n;
INSERT INTO dag_run (dag_id, run_id, run_type, logical_date, data_interval_start, data_interval_end,
                     run_after, state, start_date, end_date)
SELECT 'dag_' || lpad(n::text, 4, '0'), 'scheduled__' || d::date, 'scheduled', d, d, d + interval '1 day',
       d + interval '1 day', 'success', d + interval '1 day', d + interval '1 day 1 minute'
  FROM generate_series(1, {OTHER_DAGS}) n,
       generate_series(timestamptz '2026-01-01', timestamptz '2026-01-01' + interval '{OTHER_RUNS - 1} days',
                       interval '1 day') d;

INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, owners, schedule, schedule_summary)
VALUES ('bench_api', '/dags/bench_api.py', 'bench_api.py', true, 'bench', '{{"type": "none"}}', 'None');
INSERT INTO dag_code (source_hash, fileloc, source_code)
VALUES ('bench_api_src', '/dags/bench_api.py', '# bench_api: 5 EmptyOperators in a chain');
INSERT INTO dag_version (dag_id, version_number, dag_hash, data, fileloc, source_hash)
VALUES ('bench_api', 1, 'bench_api_hash', {q(json.dumps(data))}, '/dags/bench_api.py', 'bench_api_src');
INSERT INTO serialized_dag (dag_id, dag_version_id, dag_hash)
SELECT 'bench_api', id, 'bench_api_hash' FROM dag_version WHERE dag_id = 'bench_api';
INSERT INTO dag_run (dag_id, run_id, run_type, logical_date, data_interval_start, data_interval_end,
                     run_after, state, start_date, end_date, dag_version_id, conf, triggered_by)
SELECT 'bench_api', 'scheduled__' || to_char(d, 'YYYY-MM-DD"T"HH24:MI:SS'), 'scheduled', d, d,
       d + interval '1 hour', d + interval '1 hour', CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'success' END,
       d + interval '1 hour', d + interval '1 hour 5 minutes', v.id, jsonb_build_object('n', n), 'scheduler'
  FROM generate_series(0, {RUNS - 1}) n,
       LATERAL (SELECT timestamptz '2025-01-01' + n * interval '1 hour' AS d) x,
       (SELECT id FROM dag_version WHERE dag_id = 'bench_api') v;
INSERT INTO task_instance (id, dag_id, run_id, task_id, state, try_number, max_tries, operator,
                           start_date, end_date, duration, dag_version_id)
SELECT gen_random_uuid(), r.dag_id, r.run_id, 'step_' || t, 'success', 1, 0, 'EmptyOperator',
       r.start_date, r.end_date, 1.5, r.dag_version_id
  FROM dag_run r CROSS JOIN generate_series(0, {TASKS - 1}) t WHERE r.dag_id = 'bench_api';
COMMIT;
ANALYZE;
""")
