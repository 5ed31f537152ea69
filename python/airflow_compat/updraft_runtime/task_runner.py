"""The Python task runner: a warm fork server that runs one forked child per
task, many at once, speaking JSON lines with the worker on stdin/stdout.

In:  ``{"op": "run", "id": 7, "task": {...}}`` (the request, see
     ``task_runner_child``), ``{"op": "cancel", "id": 7}`` and, for a session
     job, ``{"op": "feed", "id": 7, "data": <JSON>}``.
Out: ``{"id": 7, "log": "line"}`` while the task runs (its stdout and
     stderr, line by line), ``{"id": 7, "mask": "secret"}`` when the task read
     a secret, ``{"id": 7, "data": <JSON>}`` for a session job, and exactly
     one ``{"id": 7, "result": {...}}``.

A request of mode ``kafka`` starts a *session job*: two more pipes, an input
pipe (runner -> child: each ``feed``'s data as one JSON line, buffered here
and written when the pipe has room, so a child that does not read never
blocks the runner) and a data pipe (child -> runner: one compact JSON
document per line, relayed verbatim as ``data``, after the log lines the
child wrote before it). The child finds their fds in ``req["_session"]``
(``{"in": fd, "out": fd}``); they close when the job ends. A feed for a job
that is gone is ignored.

The child imports the DAG file itself, so a file that hangs, crashes or
exits fails that task only. A child past its ``timeout`` or cancelled (the
worker lost the lease) is killed with its whole process group; one that dies
without a result (segfault, ``os._exit``) fails with the reason. See
docs/adr/0004-python-task-runner.md.
"""
import errno
import gc
import json
import os
import random
import select
import signal
import sys
import time

from updraft_runtime import forking
from updraft_runtime.task_runner_context import MASK_PREFIX

_READ = 1 << 16
_MAX_LINE = 1 << 16


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _failed(message, state="failed"):
    return {"state": state, "message": message, "xcoms": [], "returned": None, "truthy": False, "poke": None}


def _exit_reason(status):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"The task's process crashed (signal {name}) before it returned a result"
    return f"The task's process exited with code {os.WEXITSTATUS(status)} before it returned a result"


class Job:
    """One running task: its child, its log and result pipes, its deadline;
    for a session job also its input and data pipes."""

    def __init__(self, job_id, req, close_fds):
        self.id = job_id
        self.log_r, log_w = os.pipe()
        self.res_r, res_w = os.pipe()
        self.session = req.get("mode") == "kafka"
        self.in_w = self.data_r = None
        in_r = data_w = None
        if self.session:
            in_r, self.in_w = os.pipe()
            self.data_r, data_w = os.pipe()
            req["_session"] = {"in": in_r, "out": data_w}
        self.in_buf = bytearray()
        self.data_buf = bytearray()
        timeout = req.get("timeout")
        self.deadline = time.monotonic() + float(timeout) if timeout else float("inf")
        self.killed = None  # why the runner killed the child
        self.log_buf = b""
        self.result = b""
        self.log_open = self.res_open = True
        self.status = None
        parent = os.getpid()
        pid = forking.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.setpgid(0, 0)
                forking.die_with_parent(parent)
                for fd in close_fds:
                    os.close(fd)
                os.close(self.log_r)
                os.close(self.res_r)
                if self.session:
                    os.close(self.in_w)
                    os.close(self.data_r)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(log_w, 1)
                os.dup2(log_w, 2)
                os.close(null)
                os.close(log_w)
                sys.stdout.reconfigure(line_buffering=True)
                sys.stderr.reconfigure(line_buffering=True)
                random.seed()  # a raw fork skips random's after-fork reseeding
                from updraft_runtime import task_runner_child

                task_runner_child.run(req, res_w)
                code = 0
            finally:
                os._exit(code)
        self.pid = pid
        try:
            # The child does this too; whichever runs first, a cancel that
            # arrives at once finds the group.
            os.setpgid(pid, pid)
        except OSError:
            pass
        os.close(log_w)
        os.close(res_w)
        os.set_blocking(self.log_r, False)
        if self.session:
            os.close(in_r)
            os.close(data_w)
            os.set_blocking(self.in_w, False)
            os.set_blocking(self.data_r, False)

    @property
    def all_fds(self):
        """Every fd of this job the runner holds (a later child closes them)."""
        return [fd for fd in self.fds + [self.in_w] if fd is not None]

    @property
    def fds(self):
        """The fds to read, the log before the data."""
        fds = [fd for fd, open_ in ((self.log_r, self.log_open), (self.res_r, self.res_open)) if open_]
        if self.data_r is not None:
            fds.append(self.data_r)
        return fds

    def feed(self, data):
        if self.in_w is not None:
            self.in_buf += json.dumps(data, separators=(",", ":")).encode() + b"\n"

    def feed_raw(self, doc):
        """A feed's data as the worker encoded it (one compact JSON document)."""
        if self.in_w is not None:
            self.in_buf += doc + b"\n"

    def write_input(self):
        """Writes what the pipe takes now; a child that is gone drops the rest."""
        try:
            n = os.write(self.in_w, self.in_buf)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return
            self.in_buf.clear()
            self._close_input()
            return
        del self.in_buf[:n]

    def _close_input(self):
        if self.in_w is not None:
            os.close(self.in_w)
            self.in_w = None

    def read_data(self, emit, final=False):
        """Relays the child's complete data lines verbatim, after its log so far."""
        self.read_log(emit)
        while self.data_r is not None:
            try:
                data = os.read(self.data_r, _READ)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    break
                data = b""
            if not data:
                self._close_data()
                break
            self.data_buf += data
            end = self.data_buf.rfind(b"\n")
            if end < 0:
                continue
            prefix = b'{"id": %d, "data": ' % self.id
            for line in bytes(self.data_buf[:end]).split(b"\n"):
                if line.strip():
                    emit(prefix + line + b"}\n")
            del self.data_buf[:end + 1]
        if final:
            self._close_data()

    def _close_data(self):
        if self.data_r is not None:
            os.close(self.data_r)
            self.data_r = None
        if self.data_buf.strip():
            print(f"updraft task runner: task {self.id} left an unfinished data line", file=sys.stderr)
        self.data_buf.clear()

    def close_session(self, emit):
        """At the job's end: relay the last data lines, close both pipes."""
        if self.session:
            self.read_data(emit, final=True)
            self.in_buf.clear()
            self._close_input()

    def kill(self, reason):
        if self.killed is None:
            self.killed = reason
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass

    def read_log(self, emit, final=False):
        """Forwards complete lines (all of them when ``final``)."""
        while self.log_open:
            try:
                data = os.read(self.log_r, _READ)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    break
                data = b""
            if not data:
                os.close(self.log_r)
                self.log_open = False
                break
            self.log_buf += data
            self._flush_lines(emit)
        if final or not self.log_open:
            if self.log_buf:
                self._line(self.log_buf, emit)
                self.log_buf = b""

    def _flush_lines(self, emit):
        *lines, self.log_buf = self.log_buf.split(b"\n")
        for line in lines:
            self._line(line, emit)
        while len(self.log_buf) > _MAX_LINE:
            self._line(self.log_buf[:_MAX_LINE], emit)
            self.log_buf = self.log_buf[_MAX_LINE:]

    def _line(self, line, emit):
        if line.startswith(MASK_PREFIX):
            try:
                emit({"id": self.id, "mask": json.loads(line[len(MASK_PREFIX):])})
                return
            except ValueError:
                pass
        emit({"id": self.id, "log": line.rstrip(b"\r").decode("utf-8", errors="replace")})

    def read_result(self):
        data = os.read(self.res_r, _READ)
        if data:
            self.result += data
        else:
            os.close(self.res_r)
            self.res_open = False

    def try_reap(self):
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = status
        return self.status is not None

    def outcome(self):
        if self.killed is not None:
            return _failed(self.killed)
        if self.result.strip():
            try:
                return json.loads(self.result)
            except ValueError:
                return _failed("The task's process wrote an unreadable result")
        return _failed(_exit_reason(self.status))


def _prepare():
    forking.warm_up()
    from updraft_runtime import task_runner_child, task_runner_context  # noqa: F401

    gc.collect()
    gc.freeze()
    forking.choose_fork()


def serve(stdin_fd=0, stdout_fd=1):
    """Serve task requests until stdin closes; then kill what still runs."""
    _prepare()
    # No PR_SET_PDEATHSIG for the server itself: it fires when the *thread*
    # that spawned us exits, and the worker is multi-threaded. The worker's
    # death closes our stdin instead, and then every task is killed.
    out_fd = os.dup(stdout_fd)
    if stdout_fd == 1:
        sys.stdout.flush()
        os.dup2(2, 1)  # the server's own prints must not corrupt the stream
    close_in_child = (out_fd, stdin_fd)
    out = []

    def emit(msg):
        out.append(msg if isinstance(msg, bytes) else json.dumps(msg).encode() + b"\n")

    jobs = {}
    buf = b""
    eof = False
    while not eof or jobs:
        if eof:
            for job in jobs.values():
                job.kill("The worker stopped")
        rlist = [] if eof else [stdin_fd]
        for job in jobs.values():
            rlist.extend(job.fds)
        now = time.monotonic()
        waits = [min(job.deadline - now, 1.0) for job in jobs.values()]
        # A job whose result pipe closed waits for its exit status: poll briefly.
        if any(not job.res_open for job in jobs.values()):
            waits.append(0.002)
        wait = max(0.0, min(waits)) if waits else None
        wlist = [job.in_w for job in jobs.values() if job.in_buf and job.in_w is not None]
        ready, writable, _ = select.select(rlist, wlist, [], wait)
        for fd in writable:
            for job in jobs.values():
                if fd == job.in_w:
                    job.write_input()
                    break
        for fd in ready:
            if fd == stdin_fd:
                data = os.read(stdin_fd, _READ)
                if not data:
                    eof = True
                    continue
                buf += data
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if line.strip():
                        _handle(line, jobs, close_in_child, emit)
                continue
            for job in jobs.values():
                if fd == job.log_r and job.log_open:
                    job.read_log(emit)
                    break
                if fd == job.res_r and job.res_open:
                    job.read_result()
                    break
                if fd == job.data_r:
                    job.read_data(emit)
                    break
        now = time.monotonic()
        for job_id, job in list(jobs.items()):
            if now >= job.deadline and job.killed is None:
                job.kill(f"Timeout: the task ran longer than its execution_timeout; its process "
                         f"{job.pid} was killed")
            if job.res_open or not job.try_reap():
                continue
            job.close_session(emit)
            job.read_log(emit, final=True)
            if job.log_open:
                os.close(job.log_r)
            try:
                os.killpg(job.pid, signal.SIGKILL)  # background processes the task left behind
            except OSError:
                pass
            emit({"id": job_id, "result": job.outcome()})
            del jobs[job_id]
        if out:
            try:
                _write_all(out_fd, b"".join(out))
            except BrokenPipeError:
                eof = True  # the worker is gone: stop, killing what still runs
            out.clear()
    os.close(out_fd)


# How the worker (serde) writes a feed: its data is relayed without decoding
# and encoding again (a batch of messages can be hundreds of kilobytes).
_FEED_HEAD = b'{"op":"feed","id":'
_FEED_DATA = b',"data":'


def _feed_fast(line, jobs):
    """Relays a feed line in the worker's exact shape; False for any other line."""
    if not (line.startswith(_FEED_HEAD) and line.endswith(b"}")):
        return False
    at = line.find(_FEED_DATA, len(_FEED_HEAD))
    if at < 0:
        return False
    try:
        job_id = int(line[len(_FEED_HEAD):at])
    except ValueError:
        return False
    job = jobs.get(job_id)  # a job that is gone: the worker sees its result
    if job is not None:
        job.feed_raw(line[at + len(_FEED_DATA):-1])
    return True


def _handle(line, jobs, close_fds, emit):
    if _feed_fast(line, jobs):
        return
    try:
        msg = json.loads(line)
        op, job_id = msg["op"], msg["id"]
    except (ValueError, KeyError, TypeError) as e:
        print(f"updraft task runner: bad request line: {e}", file=sys.stderr)
        return
    if op == "cancel":
        job = jobs.get(job_id)
        if job is not None:
            job.kill("The task was stopped: this worker no longer holds its lease")
        return
    if op == "feed":
        job = jobs.get(job_id)  # a job that is gone: the worker sees its result
        if job is not None:
            job.feed(msg.get("data"))
        return
    if op != "run" or job_id in jobs:
        emit({"id": job_id, "result": _failed(f"bad request {op!r} for task {job_id}")})
        return
    # A child keeps no fd of its siblings: a session's pipes must close when its job ends.
    close_fds = tuple(close_fds) + tuple(fd for job in jobs.values() for fd in job.all_fds)
    try:
        jobs[job_id] = Job(job_id, msg.get("task") or {}, close_fds)
    except OSError as e:
        emit({"id": job_id, "result": _failed(f"The task runner could not start the task: {e}")})


if __name__ == "__main__":
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if here not in sys.path:
        sys.path.insert(0, here)
    serve()
