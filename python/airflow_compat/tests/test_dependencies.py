"""Dependencies: >>/<<, lists, chain helpers, labels, task groups,
setup/teardown, XComArg wiring, TaskFlow variants and mapped tasks."""
import unittest

from tests.helpers import DagFileTest

HEAD = """from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator as E
from airflow.decorators import task
"""


def in_dag(body, imports=""):
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return HEAD + imports + '\nwith DAG("d", schedule=None, start_date=datetime(2024, 1, 1)) as dag:\n' + lines + "\n"


def edges(dag):
    return sorted((u, t["task_id"]) for t in dag["tasks"] for u in t["upstream_task_ids"])


class ShiftOperatorsTest(DagFileTest):
    def test_shift_forms(self):
        d = self.dag(in_dag("""
a, b, c, d_, e, f = [E(task_id=x) for x in "abcdef"]
a >> b >> [c, d_]
[c, d_] >> e
f << e
a.set_downstream(f)
f.set_upstream([b])
"""))
        self.assertEqual(edges(d), [("a", "b"), ("a", "f"), ("b", "c"), ("b", "d"), ("b", "f"), ("c", "e"),
                                    ("d", "e"), ("e", "f")])
        t = {x["task_id"]: x for x in d["tasks"]}
        self.assertEqual(t["b"]["downstream_task_ids"], ["c", "d", "f"])  # Invariant: sorted id lists

    def test_list_to_list_is_a_type_error(self):
        err = self.parse_error(in_dag('[E(task_id="a"), E(task_id="b")] >> [E(task_id="c")]'))
        self.assertIn("TypeError", err["message"])

    def test_chain_helpers(self):
        d = self.dag(in_dag("""
t = {x: E(task_id=x) for x in "abcdefgh"}
chain(t["a"], [t["b"], t["c"]], [t["d"], t["e"]], t["f"])
chain_linear(t["f"], [t["g"], t["h"]])
cross_downstream([t["g"], t["h"]], [t["a"]]) if False else None
""", "from airflow.models.baseoperator import chain, chain_linear, cross_downstream\n"))
        self.assertEqual(edges(d), [("a", "b"), ("a", "c"), ("b", "d"), ("c", "e"), ("d", "f"), ("e", "f"),
                                    ("f", "g"), ("f", "h")])

    def test_cross_downstream_and_chain_linear_all_to_all(self):
        d = self.dag(in_dag("""
a, b, c, d_, e, f = [E(task_id=x) for x in "abcdef"]
cross_downstream([a, b], [c, d_])
chain_linear([c, d_], [e, f])
""", "from airflow.sdk import chain_linear, cross_downstream\n"))
        self.assertEqual(edges(d), [("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "e"), ("c", "f"),
                                    ("d", "e"), ("d", "f")])

    def test_chain_unequal_lists(self):
        err = self.parse_error(in_dag("chain([E(task_id='a'), E(task_id='b')], [E(task_id='c')])",
                                      "from airflow.models.baseoperator import chain\n"))
        self.assertIn("ValueError", err["message"])
        self.assertIn("different length", err["message"])

    def test_labels(self):
        d = self.dag(in_dag("""
a, b, c, d_ = [E(task_id=x) for x in "abcd"]
a >> Label("yes") >> b
a >> Label("no") >> [c, d_]
""", "from airflow.utils.edgemodifier import Label\n"))
        self.assertEqual(d["edge_labels"], [{"from": "a", "to": "b", "label": "yes"},
                                            {"from": "a", "to": "c", "label": "no"},
                                            {"from": "a", "to": "d", "label": "no"}])
        self.assertEqual(edges(d), [("a", "b"), ("a", "c"), ("a", "d")])

    def test_cycle_reports_the_tasks(self):
        err = self.parse_error(in_dag("""
a, b, c = [E(task_id=x) for x in "abc"]
a >> b >> c >> a
"""))
        self.assertEqual(err["kind"], "cycle")
        self.assertIn("a -> b -> c -> a", err["message"])

    def test_relation_across_dags_rejected(self):
        err = self.parse_error(HEAD + """
with DAG("one") as d1:
    a = E(task_id="a")
with DAG("two") as d2:
    b = E(task_id="b")
a >> b
""")
        self.assertIn("more than one DAG", err["message"])

    def test_task_without_dag_joins_through_relation(self):
        d = self.dag(HEAD + """
loose = E(task_id="loose")
with DAG("d") as dag:
    a = E(task_id="a")
a >> loose
""")
        self.assertEqual(edges(d), [("a", "loose")])


class TaskGroupTest(DagFileTest):
    def test_prefixing_nesting_and_leaves_roots(self):
        d = self.dag(in_dag("""
start, end = E(task_id="start"), E(task_id="end")
with TaskGroup("g", tooltip="tip", ui_color="#abc") as g:
    a = E(task_id="a")
    with TaskGroup("inner") as inner:
        b = E(task_id="b")
        c = E(task_id="c")
    a >> [b, c]
with TaskGroup("flat", prefix_group_id=False) as flat:
    x = E(task_id="x")
start >> g >> end
g >> flat
""", "from airflow.utils.task_group import TaskGroup\n"))
        self.assertEqual(sorted(t["task_id"] for t in d["tasks"]), ["end", "g.a", "g.inner.b", "g.inner.c", "start", "x"])
        self.assertEqual(edges(d), [("g.a", "g.inner.b"), ("g.a", "g.inner.c"), ("g.inner.b", "end"),
                                    ("g.inner.b", "x"), ("g.inner.c", "end"), ("g.inner.c", "x"), ("start", "g.a")])
        groups = {g["group_id"]: g for g in d["task_groups"]}
        self.assertEqual(sorted(groups), ["flat", "g", "g.inner"])
        self.assertEqual(groups["g"], {"group_id": "g", "parent_group_id": None, "prefix_group_id": True,
                                       "tooltip": "tip", "ui_color": "#abc", "children": ["g.a", "g.inner"],
                                       "is_mapped": False, "mapped": None})
        self.assertEqual(groups["g.inner"]["parent_group_id"], "g")
        self.assertEqual(groups["flat"]["children"], ["x"])
        t = {x["task_id"]: x for x in d["tasks"]}
        self.assertEqual(t["g.inner.b"]["task_group"], "g.inner")
        self.assertIsNone(t["start"]["task_group"])

    def test_duplicate_group_id(self):
        err = self.parse_error(in_dag("""
with TaskGroup("g"):
    pass
with TaskGroup("g"):
    pass
""", "from airflow.sdk import TaskGroup\n"))
        self.assertEqual(err["kind"], "duplicate_task_id")
        self.assertIn("group_id 'g'", err["message"])
        self.assertEqual(err["line"], 10)

    def test_task_group_decorator(self):
        d = self.dag(in_dag("""
@task_group(group_id="etl")
def etl():
    a = E(task_id="a")
    b = E(task_id="b")
    a >> b
@task_group
def proc(x):
    return t(x)
@task
def t(v):
    return v
s = E(task_id="s")
s >> etl() >> E(task_id="z")
r1 = proc(1)
r2 = proc(2)
r1 >> r2
""", "from airflow.decorators import task, task_group\n"))
        ids = sorted(t["task_id"] for t in d["tasks"])
        self.assertEqual(ids, ["etl.a", "etl.b", "proc.t", "proc__1.t", "s", "z"])
        self.assertIn(("s", "etl.a"), edges(d))
        self.assertIn(("etl.b", "z"), edges(d))
        self.assertIn(("proc.t", "proc__1.t"), edges(d))


class SetupTeardownTest(DagFileTest):
    def test_decorators_and_methods(self):
        d = self.dag(in_dag("""
@setup
def create():
    return 1
@teardown(on_failure_fail_dagrun=True)
def delete():
    pass
c = create()
work = E(task_id="work")
dl = delete()
c >> work >> dl
s2 = E(task_id="s2").as_setup()
t2 = E(task_id="t2").as_teardown(setups=s2)
""", "from airflow.decorators import setup, teardown\n"))
        t = {x["task_id"]: x for x in d["tasks"]}
        self.assertTrue(t["create"]["is_setup"])
        self.assertTrue(t["delete"]["is_teardown"])
        self.assertTrue(t["delete"]["on_failure_fail_dagrun"])
        self.assertEqual(t["delete"]["trigger_rule"], "all_done_setup_success")
        self.assertTrue(t["s2"]["is_setup"])
        self.assertEqual((t["t2"]["is_teardown"], t["t2"]["trigger_rule"]), (True, "all_done_setup_success"))
        self.assertEqual(t["t2"]["upstream_task_ids"], ["s2"])

    def test_context_manager(self):
        d = self.dag(in_dag("""
s = E(task_id="s")
td = E(task_id="td").as_teardown(setups=s)
with td:
    a = E(task_id="a")
    b = E(task_id="b")
    a >> b
"""))
        self.assertEqual(edges(d), [("a", "b"), ("b", "td"), ("s", "a"), ("s", "td")])

    def test_setup_followed_by_non_all_success(self):
        err = self.parse_error(in_dag("""
s = E(task_id="s").as_setup()
s >> E(task_id="w", trigger_rule="all_done")
"""))
        self.assertEqual(err["kind"], "invalid_dag")
        self.assertIn("ALL_SUCCESS", err["message"])


class TaskFlowTest(DagFileTest):
    def test_xcomarg_wiring_and_multiple_outputs(self):
        d = self.dag(in_dag("""
@task
def extract() -> dict:
    return {"a": 1}
@task(multiple_outputs=False, retries=2)
def load(x, y=None):
    return x
e = extract()
l = load(e["a"], y=e)
b = BashOperator(task_id="b", bash_command=f"echo {e}")
p = PythonOperator(task_id="p", python_callable=print, op_args=[b.output, l])
""", "from airflow.decorators import task\nfrom airflow.operators.bash import BashOperator\n"
     "from airflow.operators.python import PythonOperator\n"))
        t = {x["task_id"]: x for x in d["tasks"]}
        self.assertTrue(t["extract"]["multiple_outputs"])
        self.assertFalse(t["load"]["multiple_outputs"])
        self.assertEqual(t["load"]["retries"], 2)
        self.assertEqual(t["load"]["upstream_task_ids"], ["extract"])
        self.assertEqual(t["load"]["python"]["op_args"],
                         [{"__type": "xcomarg", "__var": {"task_id": "extract", "key": "a"}}])
        self.assertEqual(t["load"]["python"]["op_kwargs"],
                         {"y": {"__type": "xcomarg", "__var": {"task_id": "extract", "key": "return_value"}}})
        self.assertEqual(t["p"]["upstream_task_ids"], ["b", "load"])
        self.assertIn("xcom_pull(task_ids='extract', dag_id='d', key='return_value')",
                      t["b"]["fields"]["bash_command"])
        self.assertEqual(t["load"]["task_type"], "_PythonDecoratedOperator")
        self.assertEqual(t["load"]["python"]["decorator"], "task")

    def test_variants(self):
        d = self.dag(in_dag("""
@task.python
def p(): pass
@task.bash
def b(): return "echo hi"
@task.branch
def br(): return "p"
@task.short_circuit
def sc(): return True
@task.sensor(poke_interval=10, mode="reschedule")
def sn(): return True
@task.virtualenv(requirements=["x"])
def ve(): pass
@task.external_python(python="/usr/bin/python3")
def ep(): pass
@task.branch_virtualenv
def bve(): pass
@task.branch_external_python(python="/usr/bin/python3")
def bep(): pass
for f in (p, b, br, sc, sn, ve, ep, bve, bep):
    f()
""", "from airflow.sdk import task\n"))
        t = {x["task_id"]: x for x in d["tasks"]}
        got = {k: (v["operator_kind"], v["python"]["decorator"]) for k, v in t.items()}
        self.assertEqual(got, {
            "p": ("python", "task"), "b": ("bash", "task.bash"), "br": ("branch_python", "task.branch"),
            "sc": ("short_circuit", "task.short_circuit"), "sn": ("python_sensor", "task.sensor"),
            "ve": ("python_virtualenv", "task.virtualenv"), "ep": ("external_python", "task.external_python"),
            "bve": ("branch_python_virtualenv", "task.branch_virtualenv"),
            "bep": ("branch_external_python", "task.branch_external_python"),
        })
        self.assertEqual(t["sn"]["sensor"]["poke_interval"], 10.0)
        self.assertEqual(t["sn"]["sensor"]["mode"], "reschedule")
        self.assertEqual(t["ve"]["fields"]["requirements"], ["x"])
        self.assertFalse(any(v["is_custom"] for v in t.values()))
        self.assertEqual(d["dialect"], "3")

    def test_override_and_unique_ids(self):
        d = self.dag(in_dag("""
@task
def step(i):
    return i
step(1)
step(2)
step.override(task_id="named", owner="o")(3)
"""))
        t = {x["task_id"]: x for x in d["tasks"]}
        self.assertEqual(sorted(t), ["named", "step", "step__1"])
        self.assertEqual(t["named"]["owner"], "o")

    def test_bad_call_arguments(self):
        err = self.parse_error(in_dag("""
@task
def one(x):
    return x
one(1, 2)
"""))
        self.assertIn("TypeError", err["message"])
        self.assertEqual(err["line"], 10)

    def test_context_arguments_need_not_be_passed(self):
        d = self.dag(in_dag("""
@task
def uses_ti(x, ti, **context):
    return x
uses_ti(1)
"""))
        self.assertEqual(len(d["tasks"]), 1)

    def test_run_if_and_skip_if(self):
        d = self.dag(in_dag("""
@task.run_if(lambda ctx: True)
@task
def gated():
    pass
@task.skip_if(lambda ctx: False, skip_message="nope")
@task
def gated2():
    pass
gated() >> gated2()
""", "from airflow.decorators import task\n"))
        self.assertEqual(edges(d), [("gated", "gated2")])

    def test_decorator_import_for_task_instance_type(self):
        d = self.dag(in_dag("""
@task
def f(ti: TaskInstance = None):
    return 1
f()
""", "from airflow.decorators import task\nfrom airflow.models import TaskInstance\n"))
        self.assertEqual(d["tasks"][0]["task_id"], "f")


class MappingTest(DagFileTest):
    def test_classic_and_taskflow_mapping(self):
        d = self.dag(in_dag("""
@task
def nums():
    return [1, 2]
@task
def add(x, y):
    return x + y
n = nums()
m1 = BashOperator.partial(task_id="m1", retries=3).expand(bash_command=["echo 1", "echo 2"])
m2 = add.partial(y=10).expand(x=n)
m3 = add.expand_kwargs([{"x": 1, "y": 2}])
m4 = PythonOperator.partial(task_id="m4", python_callable=print).expand_kwargs(n.map(lambda v: {"op_args": [v]}))
""", "from airflow.decorators import task\nfrom airflow.operators.bash import BashOperator\n"
     "from airflow.operators.python import PythonOperator\n"))
        t = {x["task_id"]: x for x in d["tasks"]}
        self.assertEqual(t["m1"]["mapped"], {"expand": {"bash_command": ["echo 1", "echo 2"]},
                                             "expand_kwargs": None, "partial": {"retries": 3}})
        self.assertEqual(t["m1"]["retries"], 3)
        self.assertEqual(t["add"]["mapped"]["expand"],
                         {"x": {"__type": "xcomarg", "__var": {"task_id": "nums", "key": "return_value"}}})
        self.assertEqual(t["add"]["mapped"]["partial"], {"op_kwargs": {"y": 10}})
        self.assertEqual(t["add"]["upstream_task_ids"], ["nums"])
        self.assertEqual(t["add__1"]["mapped"]["expand_kwargs"], [{"x": 1, "y": 2}])
        self.assertEqual(t["m4"]["upstream_task_ids"], ["nums"])
        self.assertIsNone(t["nums"]["mapped"])

    def test_expand_validation(self):
        err = self.parse_error(in_dag('BashOperator.partial(task_id="m").expand(bash_command="echo")',
                                      "from airflow.operators.bash import BashOperator\n"))
        self.assertIn("expand() got an unexpected type 'str'", err["message"])
        err = self.parse_error(in_dag('BashOperator.partial(task_id="m").expand()',
                                      "from airflow.operators.bash import BashOperator\n"), name="x2.py")
        self.assertIn("no arguments to expand against", err["message"])

    def test_required_arguments_may_come_from_the_expansion(self):
        # Invariant: as in Airflow, a mapped operator's __init__ is not enforced at parse time:
        # required arguments may come from expand()/expand_kwargs() and values are not validated.
        d = self.dag(in_dag("""
@task
def jobs():
    return [{"bash_command": "echo 1"}]
BashOperator.partial(task_id="kw", retries=1).expand_kwargs(jobs())
BashOperator.partial(task_id="lit").expand_kwargs([{"bash_command": "echo 1", "env": {"A": "1"}}])
BashOperator.partial(task_id="env_only").expand(env=[{"A": "1"}])
PythonOperator.partial(task_id="py").expand_kwargs([{"python_callable": print}])
TimeDeltaSensor.partial(task_id="tds").expand(delta=[timedelta(minutes=1)])
TimeDeltaSensor.partial(task_id="poke", delta=timedelta(1)).expand(poke_interval=[1, 2], mode=["poke"])
ExternalTaskSensor.partial(task_id="ets", external_dag_id="o").expand(external_task_id=["a", "b"])
""", "from datetime import timedelta\nfrom airflow.operators.bash import BashOperator\n"
     "from airflow.operators.python import PythonOperator\n"
     "from airflow.sensors.time_delta import TimeDeltaSensor\n"
     "from airflow.sensors.external_task import ExternalTaskSensor\n"))
        t = {x["task_id"]: x for x in d["tasks"]}
        self.assertEqual(t["kw"]["upstream_task_ids"], ["jobs"])
        self.assertEqual(t["kw"]["retries"], 1)
        self.assertIsNone(t["kw"]["fields"]["bash_command"])
        self.assertEqual(t["kw"]["mapped"]["partial"], {"retries": 1})
        self.assertEqual(t["lit"]["mapped"]["expand_kwargs"], [{"bash_command": "echo 1", "env": {"A": "1"}}])
        self.assertEqual(t["env_only"]["mapped"]["expand"], {"env": [{"A": "1"}]})
        self.assertEqual(t["tds"]["mapped"]["expand"]["delta"], [{"__type": "timedelta", "__var": 60.0}])
        self.assertEqual((t["poke"]["sensor"]["poke_interval"], t["poke"]["sensor"]["mode"]), (60.0, "poke"))
        self.assertEqual(t["ets"]["mapped"]["expand"], {"external_task_id": ["a", "b"]})

    def test_argument_names_are_checked(self):
        imports = "from airflow.operators.bash import BashOperator\n"
        cases = [
            ('BashOperator.partial(task_id="m", bash_comand="x")',
             "BashOperator.partial() got an unexpected keyword argument 'bash_comand'"),
            ('BashOperator.partial(task_id="m").expand(bash_command=["x"], nope=[1])',
             "BashOperator.expand() got an unexpected keyword argument 'nope'"),
            ('BashOperator.partial(task_id="m", bash_command="x").expand(bash_command=["y"])',
             "unmappable or already specified argument: bash_command"),
            ('BashOperator.partial(task_id="m", bash_command="x").expand(retries=[1, 2])',
             "unmappable or already specified argument: retries"),
            ('BashOperator.partial(task_id="m").expand_kwargs({"bash_command": "x"})',
             "expected XComArg or list[dict], not dict"),
            ('BashOperator.partial(task_id="m").expand_kwargs(["x"])', "expected XComArg or list[dict], not list"),
        ]
        for i, (body, msg) in enumerate(cases):
            err = self.parse_error(in_dag(body, imports), name=f"names_{i}.py")
            self.assertIn(msg, err["message"], body)

    def test_taskflow_expand_overrides_partial(self):
        d = self.dag(in_dag("""
@task
def add(x, y):
    return x + y
add.partial(x=1, y=2).expand(x=[3, 4])
"""))
        self.assertEqual(d["tasks"][0]["mapped"]["expand"], {"x": [3, 4]})


if __name__ == "__main__":
    unittest.main()
