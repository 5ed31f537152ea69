#!/usr/bin/env python3
"""Samples the memory of a process and all its descendants every 100 ms until
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
at_peak = ""  # the per-process breakdown when the RSS sum peaked


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


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def tree():
    """The root and its descendants, less children forked but not yet
    exec'd (a spawn in progress: they still show the parent's command line
    and count its pages a second time)."""
    kids, todo, seen = children(), [root], []
    own = cmdline(root)
    while todo:
        p = todo.pop()
        if p == root or cmdline(p) != own:
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


def name(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
        words = [a.decode(errors="replace") for a in args if a]
        if not words:
            return "?"
        return " ".join([os.path.basename(words[0])] + words[1:2])[:40]
    except OSError:
        return "?"


def finish(*_):
    with open(out, "w") as f:
        f.write(f"{peak_rss / 1024:.0f} MB RSS summed, {peak_pss / 1024:.0f} MB PSS summed")
        f.write(f" (at the peak: {at_peak})")
    sys.exit(0)


signal.signal(signal.SIGTERM, finish)
while os.path.exists(f"/proc/{root}"):
    pids = tree()
    rss = {p: kb(p, "status", "VmRSS:") for p in pids}
    if sum(rss.values()) > peak_rss:
        peak_rss = sum(rss.values())
        big = sorted(rss.items(), key=lambda kv: -kv[1])[:4]
        at_peak = ", ".join(f"{name(p)} {v / 1024:.0f} MB" for p, v in big)
    peak_pss = max(peak_pss, sum(kb(p, "smaps_rollup", "Pss:") for p in pids))
    time.sleep(0.1)
finish()
