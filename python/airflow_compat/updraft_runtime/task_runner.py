"""The Python task runner: a warm fork server that runs one forked child per
task, many at once, speaking JSON lines with the worker on stdin/stdout.

In:  ``{"op": "run", "id": 7, "task": {...}}`` (the request, see
     ``task_runner_child``) and ``{"op": "cancel", "id": 7}``.
Out: ``{"id": 7, "log": "line"}`` while the task runs (its stdout and
     stderr, line by line), ``{"id": 7, "mask": "secret"}`` when the task read
     a secret, and exactly one ``{"id": 7, "result": {...}}``.

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
    """One running task: its child, its log and result pipes, its deadline."""

    def __init__(self, job_id, req, close_fds):
        self.id = job_id
        self.log_r, log_w = os.pipe()
        self.res_r, res_w = os.pipe()
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
        os.close(log_w)
        os.close(res_w)
        os.set_blocking(self.log_r, False)

    @property
    def fds(self):
        return [fd for fd, open_ in ((self.log_r, self.log_open), (self.res_r, self.res_open)) if open_]

    def kill(self, reason):
        if self.killed is None:
            self.killed = reason
        try:
            os.killpg(self.pid, signal.SIGKILL)
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
        out.append(json.dumps(msg).encode() + b"\n")

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
        ready, _, _ = select.select(rlist, [], [], wait)
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
        now = time.monotonic()
        for job_id, job in list(jobs.items()):
            if now >= job.deadline and job.killed is None:
                job.kill(f"Timeout: the task ran longer than its execution_timeout; its process "
                         f"{job.pid} was killed")
            if job.res_open or not job.try_reap():
                continue
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
            _write_all(out_fd, b"".join(out))
            out.clear()
    os.close(out_fd)


def _handle(line, jobs, close_fds, emit):
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
    if op != "run" or job_id in jobs:
        emit({"id": job_id, "result": _failed(f"bad request {op!r} for task {job_id}")})
        return
    try:
        jobs[job_id] = Job(job_id, msg.get("task") or {}, close_fds)
    except OSError as e:
        emit({"id": job_id, "result": _failed(f"The task runner could not start the task: {e}")})


if __name__ == "__main__":
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if here not in sys.path:
        sys.path.insert(0, here)
    serve()
