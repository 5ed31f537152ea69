#!/usr/bin/env python3
"""Samples the memory of a process and all its descendants every 50 ms until
SIGTERM, then writes the peaks to OUTFILE: the sum of RSS (counts pages
shared between processes once per process: an upper bound) and the sum of
PSS (shared pages split between their sharers: the tree's real share).

Usage: peak_mem.py PID OUTFILE
"""
import os
import signal
import sys
import time

root, out = int(sys.argv[1]), sys.argv[2]
peak_rss = peak_pss = 0


def children():
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def tree():
    kids, todo, seen = children(), [root], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(kids.get(p, []))
    return seen


def kb(pid, path, key):
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def finish(*_):
    with open(out, "w") as f:
        f.write(f"{peak_rss / 1024:.0f} MB RSS summed, {peak_pss / 1024:.0f} MB PSS summed")
    sys.exit(0)


signal.signal(signal.SIGTERM, finish)
while os.path.exists(f"/proc/{root}"):
    pids = tree()
    peak_rss = max(peak_rss, sum(kb(p, "status", "VmRSS:") for p in pids))
    peak_pss = max(peak_pss, sum(kb(p, "smaps_rollup", "Pss:") for p in pids))
    time.sleep(0.05)
finish()
