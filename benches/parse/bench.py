#!/usr/bin/env python3
"""Parse benchmark driver (see run.sh): generates the DAG files, starts a
private PostgreSQL, and times `updraft dags reserialize` on a fresh database
per run while sampling the memory of the whole process tree."""
import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tree_pids(root_pid):
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory_kib(pid):
    """(rss, pss) in KiB; pss counts shared (forked, copy-on-write) pages once."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.stop, self.peak_rss, self.peak_pss = pid, False, 0, 0
        self.peak_main_rss = 0

    def run(self):
        while not self.stop:
            pids = tree_pids(self.pid)
            mems = [memory_kib(p) for p in pids]
            self.peak_rss = max(self.peak_rss, sum(m[0] for m in mems))
            self.peak_pss = max(self.peak_pss, sum(m[1] for m in mems))
            self.peak_main_rss = max(self.peak_main_rss, memory_kib(self.pid)[0])
            time.sleep(0.005)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--gen", default=os.environ.get("GEN_DAGS", os.path.join(ROOT, "..", "shared", "bench", "gen_dags.py")))
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="updraft-bench-parse.")
    os.chmod(work, 0o755)  # as root, the cluster runs as `postgres` and must reach pg/
    pgdir = os.path.join(work, "pg")
    try:
        sh([sys.executable, a.gen, os.path.join(work, "gen"), "--parse-n", str(a.files)])
        dags = os.path.join(work, "gen", f"parse_{a.files}")
        url = sh([os.path.join(ROOT, "scripts", "pg.sh"), "start", pgdir])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "UPDRAFT__"))}
        env.update(UPDRAFT_HOME=os.path.join(work, "home"), UPDRAFT__CORE__DAGS_FOLDER=dags)
        rates, peaks, cpus = [], [], []
        for run in range(a.runs):
            db = f"bench{run}"
            subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {db}"], check=True, capture_output=True)
            env["UPDRAFT__DATABASE__URL"] = url.rsplit("/", 1)[0] + "/" + db
            sh([a.bin, "db", "migrate"], env=env)
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.Popen([a.bin, "dags", "reserialize"], env=env, stdout=subprocess.PIPE, text=True)
            sampler = Sampler(proc.pid)
            sampler.start()
            out, _ = proc.communicate()
            wall = time.perf_counter() - t0
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            # CPU of updraft and its parse servers and children (not PostgreSQL):
            # robust to other load on the machine, unlike wall time.
            cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
            sampler.stop = True
            sampler.join()
            if proc.returncode != 0:
                sys.exit(f"reserialize failed: {out}")
            m = re.search(r"Parsed (\d+) files .* (\d+) DAGs, \d+ new versions, (\d+) import errors", out)
            if not m or int(m.group(1)) != a.files or int(m.group(2)) != a.files or int(m.group(3)) != 0:
                sys.exit(f"unexpected result: {out}")
            rates.append(a.files / wall)
            cpus.append(cpu)
            peaks.append((sampler.peak_rss, sampler.peak_pss, sampler.peak_main_rss))
            print(f"run {run + 1}: {wall:.3f} s wall, {a.files / wall:.0f} files/s, {cpu:.2f} CPU-s, peak RSS (tree) "
                  f"{sampler.peak_rss / 1024:.0f} MiB, peak PSS (tree) {sampler.peak_pss / 1024:.0f} MiB, "
                  f"processor RSS {sampler.peak_main_rss / 1024:.0f} MiB", flush=True)

        # Unchanged files are not parsed again: one more pass on the last database.
        t0 = time.perf_counter()
        out = sh([a.bin, "dags", "reserialize", "--only-changed"], env=env)
        unchanged_wall = time.perf_counter() - t0
        m = re.search(r"Parsed (\d+) files", out)
        cpu = os.cpu_count()
        print()
        print(f"machine: {cpu} cores, {os.uname().machine}, load avg {os.getloadavg()[0]:.2f}")
        print(f"files: {a.files} x 10 tasks (gen_dags.py --parse-n {a.files}), runs: {a.runs}, fresh database each run")
        print(f"median: {statistics.median(rates):.0f} files/s (min {min(rates):.0f}, max {max(rates):.0f}), end-to-end wall time of the command")
        print(f"median CPU: {statistics.median(cpus):.2f} s for {a.files} files = "
              f"{statistics.median(cpus) * 1000 / a.files:.2f} ms/file (updraft + parse servers, without PostgreSQL)")
        print(f"median peak memory: RSS(tree) {statistics.median(p[0] for p in peaks) / 1024:.0f} MiB, "
              f"PSS(tree) {statistics.median(p[1] for p in peaks) / 1024:.0f} MiB, "
              f"processor alone {statistics.median(p[2] for p in peaks) / 1024:.0f} MiB")
        print(f"second pass with nothing changed: {m.group(1) if m else '?'} files parsed, {unchanged_wall:.3f} s")
    finally:
        subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "stop", pgdir], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
