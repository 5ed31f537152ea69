#!/usr/bin/env python3
"""Writes the SQL of the UI benchmark's database to stdout: 500 DAGs (a few
runs each) and `bench_big`, a DAG of 200 tasks in 10 task groups with 1,000
finished runs (200,000 task instances), inserted directly: nothing runs."""
import json

TASKS, GROUPS, RUNS, DAGS = 200, 10, 1000, 500
per_group = TASKS // GROUPS

tasks, groups = [], []
for g in range(GROUPS):
    gid = f"group_{g:02d}"
    groups.append({"group_id": gid, "parent_group_id": None, "children": []})
    for i in range(per_group):
        tid = f"{gid}.task_{i:02d}"
        up = [f"{gid}.task_{i - 1:02d}"] if i else ([f"group_{g - 1:02d}.task_{per_group - 1:02d}"] if g else [])
        tasks.append({"task_id": tid, "task_type": "BashOperator", "upstream_task_ids": up,
                      "task_group": gid, "trigger_rule": "all_success"})
        groups[-1]["children"].append(tid)
data = {"dag_id": "bench_big", "fileloc": "/dags/bench_big.py", "tasks": tasks, "task_groups": groups}
source = "".join(f"# line {i}: BashOperator(task_id='task_{i}', bash_command='true')\n" for i in range(400))


def q(s):
    return "'" + s.replace("'", "''") + "'"


print("BEGIN;")
print(f"""
INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, owners, schedule, schedule_summary)
SELECT 'dag_' || lpad(n::text, 4, '0'), '/dags/many.py', 'many.py', n % 3 = 0, 'bench', '{{}}', '@daily'
  FROM generate_series(1, {DAGS - 1}) n;
INSERT INTO dag_tag (dag_id, name)
SELECT 'dag_' || lpad(n::text, 4, '0'), 'team_' || (n % 7) FROM generate_series(1, {DAGS - 1}) n;
INSERT INTO dag_run (dag_id, run_id, run_type, logical_date, data_interval_start, data_interval_end,
                     run_after, state, start_date, end_date)
SELECT 'dag_' || lpad(n::text, 4, '0'), 'scheduled__' || d::date, 'scheduled', d, d, d + interval '1 day',
       d + interval '1 day', 'success', d + interval '1 day', d + interval '1 day 1 minute'
  FROM generate_series(1, {DAGS - 1}) n, generate_series(timestamptz '2026-01-01', '2026-01-03', interval '1 day') d;

INSERT INTO dag (dag_id, fileloc, relative_fileloc, is_paused, owners, schedule, schedule_summary)
VALUES ('bench_big', '/dags/bench_big.py', 'bench_big.py', false, 'bench', '{{}}', '@hourly');
INSERT INTO dag_code (source_hash, fileloc, source_code) VALUES ('bench_big_src', '/dags/bench_big.py', {q(source)});
INSERT INTO dag_version (dag_id, version_number, dag_hash, data, fileloc, source_hash)
VALUES ('bench_big', 1, 'bench_big_hash', {q(json.dumps(data))}, '/dags/bench_big.py', 'bench_big_src');
INSERT INTO serialized_dag (dag_id, dag_version_id, dag_hash)
SELECT 'bench_big', id, 'bench_big_hash' FROM dag_version WHERE dag_id = 'bench_big';
INSERT INTO dag_run (dag_id, run_id, run_type, logical_date, data_interval_start, data_interval_end,
                     run_after, state, start_date, end_date)
SELECT 'bench_big', 'scheduled__' || to_char(d, 'YYYY-MM-DD"T"HH24:MI:SS'), 'scheduled', d, d, d + interval '1 hour',
       d + interval '1 hour', CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'success' END,
       d + interval '1 hour', d + interval '1 hour 5 minutes'
  FROM generate_series(0, {RUNS - 1}) n, LATERAL (SELECT timestamptz '2026-01-01' + n * interval '1 hour' AS d) x;
""")
print(f"""
CREATE TEMP TABLE bench_tasks (task_id text, ord int);
INSERT INTO bench_tasks VALUES {", ".join(f"({q(t['task_id'])}, {i})" for i, t in enumerate(tasks))};
INSERT INTO task_instance (id, dag_id, run_id, task_id, state, try_number, max_tries, operator,
                           start_date, end_date, duration)
SELECT gen_random_uuid(), r.dag_id, r.run_id, t.task_id,
       CASE WHEN r.state = 'failed' AND t.ord = 150 THEN 'failed'
            WHEN r.state = 'failed' AND t.ord > 150 THEN 'upstream_failed'
            WHEN t.ord % 37 = 5 THEN 'skipped' ELSE 'success' END,
       1, 0, 'BashOperator', r.start_date, r.end_date, 1.5
  FROM dag_run r CROSS JOIN bench_tasks t WHERE r.dag_id = 'bench_big';
COMMIT;
ANALYZE;
""")
