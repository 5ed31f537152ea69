#!/usr/bin/env python3
"""Run REAL Airflow's DAG processor over the bad-DAG fixtures and report what it records.

Run with the Python of an Airflow venv (see regenerate.sh):

    /work/airflow-venvs/af210/bin/python scripts/golden/airflow_bad_dags.py updraft/tests/fixtures/bad_dags
    /work/airflow-venvs/af31/bin/python  scripts/golden/airflow_bad_dags.py updraft/tests/fixtures/bad_dags

Unlike airflow_structure.py (which uses DagBag in-process), this goes through the real
processor so that crashes (os._exit, SIGSEGV), timeouts and SystemExit behave as in a
deployment: each file is parsed in its own child process, with the default
``[core] dagbag_import_timeout`` (30 s) and ``[core] dag_file_processor_timeout`` (50 s).
It copies the fixtures into a temp DAG folder, migrates a temp sqlite DB, runs one parsing
loop, then reads the ``import_error`` and ``dag`` tables and the processor logs.

Airflow 2.10 refuses ``airflow dag-processor`` on sqlite, so for 2.10 the same job runner
the CLI builds is started directly. Takes about 35 s (2.10) / 70 s (3.1): the infinite
loop waits for the 30 s import timeout, and under 3.1 the segfault waits for the 50 s
processor timeout.

Prints JSON: {"airflow_version", "files": {"<name>.py": {"dag_ids": [...], "import_error":
<last line of the recorded traceback or null>, "import_error_full": <normalized text>,
"processor": <what the processor manager logged about the child, or null>}}}
"""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile


_EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Timeout|Found)\b")


def _summary(text: str) -> str:
    """The line naming the final exception (its message's first line)."""
    lines = [l for l in text.strip().splitlines() if _EXC_LINE.match(l)]
    return lines[-1] if lines else text.strip().splitlines()[-1]


def main() -> int:
    src = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="airflow-bad-dags-")
    dags = os.path.join(work, "dags")
    home = os.path.join(work, "home")
    os.makedirs(home)
    shutil.copytree(src, dags, ignore=shutil.ignore_patterns("*.md", "*.json", "__pycache__"))
    env = dict(
        os.environ,
        AIRFLOW_HOME=home,
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=dags,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR="True",
        PYTHONWARNINGS="ignore",
    )
    bindir = os.path.dirname(sys.executable)
    airflow_cli = os.path.join(bindir, "airflow")
    subprocess.run([airflow_cli, "db", "migrate"], env=env, check=True, capture_output=True)

    import airflow  # only for the version string

    major = int(airflow.__version__.split(".")[0])
    if major < 3:
        driver = (
            "import argparse\n"
            "from airflow.cli.commands.dag_processor_command import _create_dag_processor_job_runner\n"
            "from airflow.jobs.job import run_job\n"
            f"r = _create_dag_processor_job_runner(argparse.Namespace(subdir={dags!r}, num_runs=1, do_pickle=False))\n"
            "run_job(job=r.job, execute_callable=r._execute)\n"
        )
        cmd = [sys.executable, "-c", driver]
    else:
        cmd = [airflow_cli, "dag-processor", "-n", "1"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace", timeout=600)
    manager_log = proc.stdout + proc.stderr

    def norm(text: str) -> str:
        text = text.replace(dags + os.sep, "<dags>/").replace(dags, "<dags>")
        text = re.sub(r"/\S*/site-packages/", "<site-packages>/", text)
        return re.sub(r"PID:? \d+", "PID <pid>", text)

    con = sqlite3.connect(os.path.join(home, "airflow.db"))
    errors = {os.path.basename(f): st for f, st in con.execute("select filename, stacktrace from import_error")}
    dag_rows = list(con.execute("select dag_id, fileloc from dag"))
    files = {}
    for path in sorted(glob.glob(os.path.join(dags, "*.py"))):
        name = os.path.basename(path)
        err = errors.get(name)
        notes = []
        for line in manager_log.splitlines():
            if name in line and re.search(r"exited with return code|killing it|timed out", line):
                line = re.sub(r"^\[[^\]]*\] \{[^}]*\} ", "", line)  # 2.x "[ts] {file:line} LEVEL - msg"
                line = re.sub(r"^\S+Z \[\S+\s*\] ", "", line)  # 3.x "ts [level] msg"
                line = re.sub(r"\s+\[airflow[^\]]*\] loc=\S+$", "", line)
                notes.append(norm(line).strip()[:300])
        logs = {os.path.realpath(p) for p in glob.glob(os.path.join(home, "logs", "**", name + ".log"), recursive=True)}
        for logf in sorted(logs):
            with open(logf, errors="replace") as fh:
                for line in fh:
                    if "exited abnormally" in line or "SIGSEGV" in line:
                        try:  # 3.x writes JSON log lines
                            rec = json.loads(line)
                            line = f"{rec.get('event')} (exit_code={rec.get('exit_code')})"
                        except ValueError:
                            pass
                        notes.append(norm(line.strip())[:300])
        files[name] = {
            "dag_ids": sorted(d for d, loc in dag_rows if os.path.basename(loc) == name),
            "import_error": _summary(norm(err)) if err else None,
            "import_error_full": norm(err) if err else None,
            "processor": notes or None,
        }
    json.dump({"airflow_version": airflow.__version__, "files": files}, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
