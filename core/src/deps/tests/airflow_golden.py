"""Golden decisions for `golden.rs`, from Airflow's own TriggerRuleDep.

Runs the real `TriggerRuleDep._get_dep_statuses` of an installed Airflow
(flag_upstream_failed=True, as the scheduler runs it) against stand-in
unmapped tasks and task instances, for every small upstream set. One line per
case: `direct|indirect setups|decisions`, one letter per rule in the order of
ALL_RULES in tests/mod.rs: R run, W wait, S skipped, U upstream_failed.

    /work/airflow-venvs/af31/bin/python core/src/deps/tests/airflow_golden.py \
        > core/src/deps/tests/airflow_3_1_8_decisions.txt
"""

import itertools, os, sys
from types import SimpleNamespace as NS

os.environ.setdefault("AIRFLOW_HOME", "/tmp/updraft-golden-airflow-home")
from airflow.task.trigger_rule import TriggerRule as TR
from airflow.ti_deps.dep_context import DepContext
from airflow.ti_deps.deps.trigger_rule_dep import TriggerRuleDep
from airflow.utils.state import State, TaskInstanceState as S

RULES = ["all_success", "all_failed", "all_done", "all_done_setup_success",
         "all_done_min_one_success", "all_skipped", "one_success", "one_failed",
         "one_done", "none_failed", "none_failed_min_one_success", "none_skipped", "always"]
TOKENS = {"-": None, "run": S.RUNNING, "ok": S.SUCCESS, "skip": S.SKIPPED,
          "fail": S.FAILED, "uf": S.UPSTREAM_FAILED, "rm": S.REMOVED}

def upstream_task(task_id, is_setup):
    return NS(task_id=task_id, is_setup=is_setup, get_needs_expansion=lambda: False)

def decide(rule, direct, indirect):
    tasks, tis = [], []
    for n, (token, is_setup) in enumerate(direct + indirect):
        t = upstream_task(f"u{n}", is_setup)
        tasks.append(t)
        tis.append(NS(task_id=t.task_id, task=t, state=TOKENS[token], map_index=-1))
    direct_tasks, setup_tasks = tasks[: len(direct)], tasks[len(direct):]
    task = NS(
        task_id="t", trigger_rule=TR(rule), is_teardown=False,
        upstream_list=direct_tasks, upstream_task_ids={t.task_id for t in direct_tasks},
        get_upstreams_only_setups=lambda: [t for t in tasks if t.is_setup],
        get_closest_mapped_task_group=lambda: None,
    )
    new_states = []
    ti = NS(task=task, task_id="t", map_index=-1, dag_id="d", run_id="r",
            get_dagrun=lambda session: None,
            set_state=lambda state, session: new_states.append(state) or True)
    ctx = DepContext(flag_upstream_failed=True,
                     finished_tis=[x for x in tis if x.state in State.finished])
    statuses = list(TriggerRuleDep()._get_dep_statuses(ti, None, ctx))
    if new_states:
        return {S.SKIPPED: "S", S.UPSTREAM_FAILED: "U"}[new_states[-1]]
    return "R" if all(s.passed for s in statuses) else "W"

def multisets(symbols, max_len):
    for k in range(max_len + 1):
        yield from itertools.combinations_with_replacement(symbols, k)

def spec(ups):
    return " ".join(tok + ("*" if setup else "") for tok, setup in ups)

def line(direct, indirect):
    letters = "".join(decide(r, list(direct), list(indirect)) for r in RULES)
    return f"{spec(direct)}|{spec(indirect)}|{letters}"

plain = [(t, False) for t in TOKENS]
flagged = [(t, s) for s in (False, True) for t in TOKENS]
out = [line(d, ()) for d in multisets(flagged, 3)]
for d in multisets(plain, 2):
    for i in multisets([(t, True) for t in TOKENS], 3 - len(d)):
        if i:
            out.append(line(d, i))
sys.stdout.write("\n".join(out) + "\n")
