"""One parse request carried out in a forked child (``ParseJob``).

The child redirects its stdout/stderr into a capture pipe, parses the file
with ``updraft_runtime.parse.parse_file``, writes the JSON result plus a
newline to a result pipe, closes its ends and exits. The server side of the
job watches both pipes and turns timeouts, output floods, crashes and exits
without a result into the contract's error kinds.
"""
import gc
import json
import os
import signal
import sys
import time

from updraft_runtime import forking

_READ = 1 << 16
_UNREAPED = []


def error_result(path, kind, message, start, line=None):
    return {
        "path": path, "ok": False, "dags": [], "warnings": [],
        "error": {"kind": kind, "message": message, "line": line, "traceback": ""},
        "duration_ms": round((time.monotonic() - start) * 1000.0, 3),
    }


def _encode(result):
    return json.dumps(result, sort_keys=True, separators=(",", ":")).encode()


def _child(reqs, res_w, out_w, close_fds, devnull, server_pid):
    """Runs in the forked child: parses each request in turn, one result line
    each; never returns."""
    code = 0
    try:
        gc.disable()
        forking.die_with_parent(server_pid)
        os.setpgid(0, 0)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        for fd in close_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        from updraft_runtime.parse import parse_file

        for req in reqs:
            # Modules a file imports (helpers beside it, third-party code) are
            # dropped after it, so the next file of the batch starts clean.
            modules_before = set(sys.modules)
            result = parse_file(req["path"], req.get("dags_folder"))
            for name in set(sys.modules) - modules_before:
                sys.modules.pop(name, None)
            try:
                data = _encode(result)
            except Exception as e:  # noqa: BLE001
                data = _encode(error_result(req.get("path"), "exception",
                                            f"internal error while encoding the result: {e}", time.monotonic()))
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except Exception:  # noqa: BLE001
                pass
            view = memoryview(data + b"\n")  # the newline marks a complete result
            while view:
                n = os.write(res_w, view)
                view = view[n:]
        # Close our ends now: the server answers without waiting for this
        # process's address space to be torn down.
        for fd in (res_w, 1, 2):
            os.close(fd)
    except BaseException:  # noqa: BLE001 - the child must always _exit
        code = 70
    os._exit(code)


def _signal_name(sig):
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _kill(pid):
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
            return
        except OSError:
            continue


def reap(block=False):
    """Collect children that finished after their result was sent, and any
    processes they left behind in their process group."""
    for pid in list(_UNREAPED):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _UNREAPED.remove(pid)
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


class Answers:
    """Results handed to the server in request order (``results``, ``taken``)."""

    def take_ready(self):
        """Results not yet handed out, in order."""
        ready = self.results[self.taken:]
        self.taken = len(self.results)
        return ready

    @property
    def exhausted(self):
        return self.done and self.taken == len(self.results)


class ParseJob(Answers):
    """Forked parses of a batch of requests, driven by the server's select loop.

    One child parses the batch's files in turn and writes one result line per
    file. When a file times out, floods its output, crashes or exits, that
    file alone gets the error; the rest of the batch continues in a fresh
    child. Results are kept in request order.
    """

    def __init__(self, reqs, close_fds, devnull):
        self.reqs = list(reqs)
        self.close_fds = close_fds
        self.devnull = devnull
        self.results = []  # bytes per answered request, in order
        self.taken = 0  # results already handed to the server
        self.pid = None
        self.fds = []
        self._next_child()

    # -- the batch ----------------------------------------------------------

    @property
    def done(self):
        return len(self.results) == len(self.reqs)

    def _current(self):
        return self.reqs[len(self.results)]

    def _start_current(self):
        req = self._current()
        self.start = time.monotonic()
        self.path = req.get("path")
        self.timeout = float(req.get("timeout") or 30.0)
        self.max_output = int(req.get("max_output") or 1048576)
        self.deadline = self.start + self.timeout
        self.out_bytes = 0

    def _next_child(self):
        """Forks a child for the unanswered requests (skipping bad ones)."""
        while not self.done:
            req = self._current()
            if isinstance(req.get("path"), str) and req.get("path"):
                break
            self.results.append(_encode(error_result(req.get("path"), "exception", "request has no 'path'",
                                                     time.monotonic())))
        if self.done:
            self.fds = []
            return
        todo = self.reqs[len(self.results):]
        bad = [i for i, r in enumerate(todo) if not (isinstance(r.get("path"), str) and r.get("path"))]
        if bad:
            todo = todo[:bad[0]]  # stop before the next bad request; it is answered in turn
        self._start_current()
        self.buf = b""
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        server_pid = os.getpid()
        pid = forking.fork()
        if pid == 0:
            _child(todo, res_w, out_w, (res_r, out_r, *self.close_fds, self.devnull), self.devnull, server_pid)
        os.close(res_w)
        os.close(out_w)
        # Non-blocking: a pipe number may be reused by the next child within
        # one select round, and must not block when it has nothing yet.
        os.set_blocking(res_r, False)
        os.set_blocking(out_r, False)
        self.pid, self.res_r, self.out_r = pid, res_r, out_r
        self.child_todo = len(todo)
        self.child_answered = 0
        self.fds = [res_r, out_r]

    # -- events -------------------------------------------------------------

    def on_readable(self, fd):
        try:
            data = os.read(fd, _READ)
        except BlockingIOError:
            return
        if fd == self.res_r:
            if data:
                self.buf += data
                *lines, self.buf = self.buf.split(b"\n")
                for line in lines:
                    self._answered(line)
                return
            self.fds.remove(fd)
            if not self.fds:
                self._child_gone(os.waitpid(self.pid, 0)[1])
            return
        if not data:
            self.fds.remove(fd)
            if not self.fds:
                self._child_gone(os.waitpid(self.pid, 0)[1])
            return
        self.out_bytes += len(data)
        if self.out_bytes > self.max_output:
            self._fail("too_much_output", f"DAG file {self.path} wrote more than {self.max_output} bytes to "
                                          f"stdout/stderr while being parsed; the parse was killed")

    def _answered(self, line):
        self.results.append(line)
        self.child_answered += 1
        if self.child_answered == self.child_todo:
            self._close()
            _UNREAPED.append(self.pid)
            self.fds = []
            self._next_child()
        else:
            self._start_current()

    def on_tick(self, now, idle):
        """Enforce the timeout; when idle, notice a child that exited while a
        grandchild still holds its pipes open."""
        if self.done or not self.fds:
            return
        if now >= self.deadline:
            self._fail("timeout", f"DAG file {self.path} took longer than {self.timeout:g} s to parse "
                                  f"(like Airflow's dagbag_import_timeout); the parse was killed")
            return
        if not idle:
            return
        done, status = os.waitpid(self.pid, os.WNOHANG)
        if done:
            _kill(self.pid)
            self._close()
            self._child_gone(status)

    # -- endings ------------------------------------------------------------

    def _close(self):
        for fd in (self.res_r, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []

    def _fail(self, kind, message):
        _kill(self.pid)
        self._close()
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.results.append(_encode(error_result(self.path, kind, message, self.start)))
        self._next_child()

    def _child_gone(self, status):
        """The child ended before answering the current request."""
        self._close()
        if self.done:
            return
        if os.WIFSIGNALED(status):
            name = _signal_name(os.WTERMSIG(status))
            error = error_result(self.path, "crashed",
                                 f"The parse of {self.path} crashed: the process was killed by {name}", self.start)
        else:
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
            error = error_result(self.path, "exit",
                                 f"The parse of {self.path} exited with status {code} before producing a result "
                                 f"(os._exit() or a fatal error in the DAG file)", self.start)
        self.results.append(_encode(error))
        self._next_child()
