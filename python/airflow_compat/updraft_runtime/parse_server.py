"""The parse fork server: one JSON request per line in, one parse result per
line out, in request order.

Request: ``{"path": "/abs/file.py", "dags_folder": "/abs/dags", "timeout": 30.0,
"max_output": 1048576}``. On start the server imports the whole ``airflow``
package (and pendulum) once, so forked children start warm. Each request is
parsed in its own forked child (``parse_job.ParseJob``); the server enforces
the timeout (kind ``timeout``), detects crashes (``crashed``), exits without a
result (``exit``) and output floods (``too_much_output``). Up to ``parallel``
requests that are already queued on stdin run at once. Nothing but result
lines is ever written to the output fd.

Run standalone with ``python3 -m updraft_runtime.parse_server``.
"""
import collections
import gc
import json
import os
import select
import sys
import time

from updraft_runtime import forking
from updraft_runtime.parse_job import Answers, ParseJob, error_result, reap

_READ = 1 << 16


# Queued requests are parsed in batches of at most this many files per forked
# child: the fork and its copy-on-write faults cost ~2.6 ms here, the parse of
# a small file ~0.5 ms (batch 16: 950 files/s end to end, 32: 1,100, 64:
# 1,250 on 2 cores). A lone request (the usual "one file changed") still gets
# a child of its own. See docs/adr/0001-parse-servers.md.
BATCH = 64


class _Done(Answers):
    """A request answered without forking (e.g. a malformed line)."""

    done = True
    fds = ()
    deadline = float("inf")

    def __init__(self, result):
        self.results = [result]
        self.taken = 0

    def on_tick(self, now, idle):
        pass


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _prepare():
    forking.warm_up()
    gc.collect()
    try:
        forking.fill_allocator_holes()
    except Exception:  # noqa: BLE001 - an optimisation only
        pass
    gc.freeze()
    forking.choose_fork()


def parse_many(reqs, close_fds=(), devnull=None):
    """Parse requests in one batch job; returns their result lines (bytes, no newline)."""
    own = devnull is None
    if own:
        devnull = os.open(os.devnull, os.O_RDWR)
    try:
        job = ParseJob(reqs, close_fds, devnull)
        while not job.done:
            wait = max(0.0, min(job.deadline - time.monotonic(), 0.5))
            ready, _, _ = select.select(job.fds, [], [], wait)
            for fd in ready:
                if not job.done and fd in job.fds:
                    job.on_readable(fd)
            job.on_tick(time.monotonic(), idle=not ready)
        reap()
        return job.results
    finally:
        if own:
            os.close(devnull)


def parse_one(req, close_fds=(), devnull=None):
    """Parse one request in a forked child and return its result line (bytes, no newline)."""
    return parse_many([req], close_fds, devnull)[0]


def _request(line):
    try:
        req = json.loads(line)
        if not isinstance(req, dict):
            raise ValueError("request must be a JSON object")
        return req, None
    except ValueError as e:
        return None, _Done(json.dumps(error_result(None, "exception", f"bad request: {e}",
                                                   time.monotonic())).encode())


def _new_job(pending, slots, close_fds, devnull):
    """Starts a job for the next requests: a batch sized so that the free
    slots share the queue, at most BATCH files."""
    size = max(1, min(BATCH, -(-len(pending) // max(1, slots))))
    reqs = []
    while pending and len(reqs) < size:
        req, bad = _request(pending[0])
        if bad is not None:
            if reqs:
                break  # answer the bad line in its own turn
            pending.popleft()
            return bad
        pending.popleft()
        reqs.append(req)
    return ParseJob(reqs, close_fds, devnull)


def serve(stdin_fd=0, stdout_fd=1, parallel=2):
    """Serve parse requests until stdin closes."""
    _prepare()
    out_fd = os.dup(stdout_fd)
    if stdout_fd == 1:
        # Anything printed by the server itself must not corrupt the result stream.
        sys.stdout.flush()
        os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDWR)
    close_in_child = (out_fd, stdin_fd) if stdin_fd != 0 else (out_fd,)
    pending = collections.deque()  # request lines not started yet
    jobs = collections.deque()  # started, in request order
    buf = b""
    eof = False
    while True:
        running = sum(1 for j in jobs if not j.done)
        while pending and running < parallel:
            jobs.append(_new_job(pending, parallel - running, close_in_child, devnull))
            running += 1
        while jobs:
            ready = jobs[0].take_ready()
            if ready:
                _write_all(out_fd, b"".join(r + b"\n" for r in ready))
            if not jobs[0].exhausted:
                break
            jobs.popleft()
        if eof and not jobs and not pending:
            break
        rlist = [fd for j in jobs if not j.done for fd in j.fds]
        if not eof and len(pending) < 64:
            rlist.append(stdin_fd)
        deadline = min((j.deadline for j in jobs if not j.done), default=None)
        wait = None if deadline is None else max(0.0, min(deadline - time.monotonic(), 0.5))
        ready, _, _ = select.select(rlist, [], [], wait)
        for fd in ready:
            if fd == stdin_fd:
                data = os.read(stdin_fd, _READ)
                if not data:
                    eof = True
                    if buf.strip():
                        pending.append(buf)
                    buf = b""
                    continue
                buf += data
                *lines, buf = buf.split(b"\n")
                pending.extend(line for line in lines if line.strip())
                continue
            for j in jobs:
                if not j.done and fd in j.fds:
                    j.on_readable(fd)
                    break
        # Later jobs' results wait for earlier ones (answers are in request
        # order); hand out what the head job has so far.
        now = time.monotonic()
        for j in jobs:
            j.on_tick(now, idle=not ready)
        reap()
    reap(block=True)
    os.close(devnull)
    os.close(out_fd)


if __name__ == "__main__":
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if here not in sys.path:
        sys.path.insert(0, here)
    import argparse

    ap = argparse.ArgumentParser(description="Updraft DAG parse server (JSON lines on stdin/stdout)")
    ap.add_argument("--parallel", type=int, default=2, help="queued requests parsed at once (default 2)")
    serve(parallel=max(1, ap.parse_args().parallel))
