#!/usr/bin/env python3
"""Benchmark of the parse fork server: drives N ``parse_server`` processes over
the DAG files of a folder (e.g. the output of shared/bench/gen_dags.py
``--parse-n 1000``) and prints files/s.

Usage: bench_parse_server.py DIR [--servers 2] [--window 4] [--parallel 2] [--repeat 1]
Each server gets a share of the files; requests are pipelined (``--window``
outstanding per server) so a server never waits for the driver.
"""
import argparse
import glob
import json
import os
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--servers", type=int, default=2)
    ap.add_argument("--window", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--parallel", type=int, default=2, help="children per server (parse_server --parallel)")
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(os.path.abspath(a.folder), "*.py"))) * a.repeat
    if not files:
        sys.exit(f"no .py files in {a.folder}")
    env = dict(os.environ, PYTHONPATH=HERE)
    procs = [subprocess.Popen([a.python, "-m", "updraft_runtime.parse_server", "--parallel", str(a.parallel)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env, cwd=HERE) for _ in range(a.servers)]
    # Warm-up: one request per server, not timed.
    for p in procs:
        p.stdin.write(json.dumps({"path": files[0], "dags_folder": os.path.dirname(files[0])}).encode() + b"\n")
        p.stdin.flush()
        p.stdout.readline()
    queues = [files[i::a.servers] for i in range(a.servers)]
    pending = {p.stdout.fileno(): [p, 0, 0, b""] for p in procs}  # proc, sent, received, buffer
    t0 = time.perf_counter()
    cpu0 = os.times()
    ok = failed = 0

    def send(state, q):
        p, sent, recv, _ = state
        while sent < len(q) and sent - recv < a.window:
            f = q[sent]
            p.stdin.write(json.dumps({"path": f, "dags_folder": os.path.dirname(f), "timeout": 30.0}).encode()
                          + b"\n")
            sent += 1
        p.stdin.flush()
        state[1] = sent

    for i, p in enumerate(procs):
        send(pending[p.stdout.fileno()], queues[i])
    index = {p.stdout.fileno(): i for i, p in enumerate(procs)}
    active = set(pending)
    while active:
        ready, _, _ = select.select(list(active), [], [])
        for fd in ready:
            state = pending[fd]
            data = os.read(fd, 1 << 20)
            if not data:
                active.discard(fd)
                continue
            state[3] += data
            *lines, state[3] = state[3].split(b"\n")
            for line in lines:
                state[2] += 1
                if b'"ok":true' in line:
                    ok += 1
                else:
                    failed += 1
            q = queues[index[fd]]
            if state[2] >= len(q):
                active.discard(fd)
            else:
                send(state, q)
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.stdin.close()
        p.wait()
    cpu1 = os.times()
    child_cpu = (cpu1.children_user + cpu1.children_system) - (cpu0.children_user + cpu0.children_system)
    driver_cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    load = os.getloadavg()
    n = ok + failed
    print(f"{n} files ({ok} ok, {failed} failed) with {a.servers} servers in {elapsed:.3f} s: "
          f"{n / elapsed:.0f} files/s, {elapsed / n * 1000 * a.servers:.3f} ms/file/server; "
          f"cpus={os.cpu_count()} load={load[0]:.2f},{load[1]:.2f},{load[2]:.2f} "
          f"servers+children cpu={child_cpu:.2f}s (incl. start-up) driver cpu={driver_cpu:.2f}s")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
