"""The fork server: one result line per request, and the failure kinds it
enforces (timeout, crash, exit without result, too much output)."""
import json
import os
import subprocess
import sys
import unittest

from tests.helpers import COMPAT_DIR, SEED_DAG, DagFileTest


class ParseServerTest(DagFileTest):
    @classmethod
    def setUpClass(cls):
        env = dict(os.environ, PYTHONPATH=COMPAT_DIR)
        cls.proc = subprocess.Popen([sys.executable, "-m", "updraft_runtime.parse_server"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd="/")

    @classmethod
    def tearDownClass(cls):
        cls.proc.stdin.close()
        cls.proc.wait(timeout=10)
        cls.proc.stdout.close()
        cls.proc.stderr.close()

    def request(self, path, **extra):
        req = {"path": path, "dags_folder": self.folder, **extra}
        self.proc.stdin.write(json.dumps(req).encode() + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        self.assertTrue(line.endswith(b"\n"), line)
        return json.loads(line)

    def parse_file_via_server(self, source, name="f.py", **extra):
        return self.request(self.write(name, source), **extra)

    def test_article_dag_same_as_in_process(self):
        # Invariant: the fork server answers exactly what parse_file computes.
        from updraft_runtime.parse import parse_file
        from updraft_runtime.serialize import dumps

        r = self.request(SEED_DAG)
        self.assertTrue(r["ok"])
        local = parse_file(SEED_DAG, self.folder)
        self.assertEqual(dumps(r["dags"]), dumps(local["dags"]))
        self.assertEqual(len(r["warnings"]), 2)
        self.assertGreater(r["duration_ms"], 0)
        self.assertEqual(set(r), {"path", "ok", "dags", "error", "warnings", "duration_ms"})

    def test_segfault_is_crashed(self):
        r = self.parse_file_via_server("import ctypes\nctypes.string_at(0)\n", "segv.py")
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"]["kind"], "crashed")
        self.assertIn("SIGSEGV", r["error"]["message"])
        self.assertEqual(r["dags"], [])

    def test_os_exit_is_exit(self):
        r = self.parse_file_via_server("import os\nos._exit(3)\n", "oexit.py")
        self.assertEqual(r["error"]["kind"], "exit")
        self.assertIn("status 3", r["error"]["message"])

    def test_sys_exit_has_line(self):
        r = self.parse_file_via_server("import sys\n\nsys.exit('bye')\n", "sexit.py")
        self.assertEqual((r["error"]["kind"], r["error"]["line"]), ("exit", 3))

    def test_infinite_loop_times_out(self):
        r = self.parse_file_via_server("while True:\n    pass\n", "loop.py", timeout=0.5)
        self.assertEqual(r["error"]["kind"], "timeout")
        self.assertIn("longer than 0.5 s", r["error"]["message"])
        # The server is still healthy afterwards.
        self.assertTrue(self.request(SEED_DAG)["ok"])

    def test_huge_output_is_killed(self):
        r = self.parse_file_via_server("import sys\nwhile True:\n    print('x' * 10000)\n", "loud.py",
                                       max_output=100000)
        self.assertEqual(r["error"]["kind"], "too_much_output")
        self.assertIn("100000 bytes", r["error"]["message"])

    def test_small_output_and_stdin_do_not_leak(self):
        # Invariant: user prints never reach the result stream, and user code cannot eat requests.
        src = ("import sys, os\nprint('hello stdout')\nprint('hello stderr', file=sys.stderr)\n"
               "os.write(1, b'raw\\n')\ndata = sys.stdin.read()\n"
               "from airflow import DAG\ndag = DAG('quiet', description=repr(data))\n")
        r = self.parse_file_via_server(src, "quiet.py")
        self.assertTrue(r["ok"], r["error"])
        self.assertEqual(r["dags"][0]["description"], "''")
        self.assertTrue(self.request(SEED_DAG)["ok"])

    def test_grandchild_holding_pipes_does_not_block(self):
        src = ("import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
               "from airflow import DAG\ndag = DAG('spawner')\n")
        r = self.parse_file_via_server(src, "spawn.py", timeout=10)
        self.assertTrue(r["ok"], r["error"])
        self.assertLess(r["duration_ms"], 5000)

    def test_killed_server_takes_its_child_along(self):
        # Invariant: a parse never outlives its server (PR_SET_PDEATHSIG).
        import signal
        import time

        env = dict(os.environ, PYTHONPATH=COMPAT_DIR)
        proc = subprocess.Popen([sys.executable, "-m", "updraft_runtime.parse_server"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=env)
        marker = os.path.join(self.folder, "pid.txt")
        path = self.write("spin.py", f"import os\nopen({marker!r}, 'w').write(str(os.getpid()))\nwhile True:\n    pass\n")
        proc.stdin.write(json.dumps({"path": path, "timeout": 60}).encode() + b"\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 10
        while not (os.path.exists(marker) and open(marker).read()) and time.monotonic() < deadline:
            time.sleep(0.02)
        child = int(open(marker).read())
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdin.close()
        proc.stdout.close()
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            with open(f"/proc/{child}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    break
            time.sleep(0.02)
        else:
            self.fail(f"parse child {child} outlived its server")

    def test_bad_request_line(self):
        self.proc.stdin.write(b"not json\n")
        self.proc.stdin.flush()
        r = json.loads(self.proc.stdout.readline())
        self.assertFalse(r["ok"])
        self.assertIn("bad request", r["error"]["message"])

    def test_cycle_and_duplicate_via_server(self):
        r = self.parse_file_via_server(
            "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator as E\n"
            "with DAG('c'):\n    a = E(task_id='a')\n    b = E(task_id='b')\n    a >> b >> a\n", "cyc.py")
        self.assertEqual(r["error"]["kind"], "cycle")
        self.assertIn("a -> b -> a", r["error"]["message"])
        r = self.parse_file_via_server(
            "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator as E\n"
            "with DAG('c'):\n    E(task_id='a')\n    E(task_id='a')\n", "dup.py")
        self.assertEqual((r["error"]["kind"], r["error"]["line"]), ("duplicate_task_id", 5))

    def test_helper_module_beside_dag_imports(self):
        self.write("server_helper_mod.py", "NAME = 'from_helper'\n")
        r = self.parse_file_via_server("from airflow import DAG\nimport server_helper_mod\n"
                                       "dag = DAG(server_helper_mod.NAME)\n", "uses_helper.py")
        self.assertTrue(r["ok"], r["error"])
        self.assertEqual(r["dags"][0]["dag_id"], "from_helper")


if __name__ == "__main__":
    unittest.main()


GOOD = """from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator
import helper_mod_{n}
with DAG(dag_id="good_{n}", schedule=None, start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id=helper_mod_{n}.NAME)
"""

class BatchTest(DagFileTest):
    """Requests queued together share a forked child (a batch); a bad file in
    the middle still fails alone and the answers keep request order."""

    def run_queued(self, paths, timeout=2.0):
        env = dict(os.environ, PYTHONPATH=COMPAT_DIR)
        lines = b"".join(json.dumps({"path": p, "dags_folder": self.folder, "timeout": timeout,
                                     "max_output": 4096}).encode() + b"\n" for p in paths)
        out = subprocess.run([sys.executable, "-c", "from updraft_runtime.parse_server import serve; serve(parallel=1)"],
                             input=lines, capture_output=True, env=env, cwd="/", timeout=60, check=True).stdout
        return [json.loads(line) for line in out.splitlines()]

    def test_bad_files_inside_a_batch_fail_alone_in_order(self):
        # Invariant: crash, hang, exit and output floods cost only their own file.
        bad = {
            "b_segv.py": ("import ctypes\nctypes.string_at(0)\n", "crashed"),
            "d_loop.py": ("while True:\n    pass\n", "timeout"),
            "f_exit.py": ("import os\nos._exit(5)\n", "exit"),
            "h_noisy.py": ("print('x' * 100000)\n", "too_much_output"),
        }
        paths, expect = [], []
        for i, letter in enumerate("acegi"):
            self.write(f"helper_mod_{i}.py", f"NAME = 'task_{i}'\n")
            paths.append(self.write(f"{letter}_good.py", GOOD.format(n=i)))
            expect.append(("ok", f"good_{i}"))
            if letter != "i":
                name = next(k for k in sorted(bad) if k.startswith(chr(ord(letter) + 1)))
                paths.append(self.write(name, bad[name][0]))
                expect.append(("error", bad[name][1]))
        results = self.run_queued(paths)
        self.assertEqual([r["path"] for r in results], paths)
        for r, (what, detail) in zip(results, expect):
            if what == "ok":
                self.assertTrue(r["ok"], r)
                self.assertEqual(r["dags"][0]["dag_id"], detail)
            else:
                self.assertFalse(r["ok"])
                self.assertEqual(r["error"]["kind"], detail, r)

    def test_modules_imported_by_one_file_are_gone_for_the_next(self):
        # Invariant: a helper module (or a poisoned one) does not leak into
        # the next file parsed by the same child.
        self.write("leaky_helper.py", "VALUE = 1\n")
        first = self.write("a.py", "import leaky_helper\nfrom airflow import DAG\n")
        second = self.write("b.py", "import sys\nfrom airflow import DAG\n"
                                    "assert 'leaky_helper' not in sys.modules, 'leaked'\n")
        results = self.run_queued([first, second])
        self.assertTrue(results[0]["ok"], results[0])
        self.assertTrue(results[1]["ok"], results[1])
