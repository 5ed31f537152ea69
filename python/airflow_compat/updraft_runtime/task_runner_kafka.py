"""A Kafka task's Python functions, in the task's forked child: the worker
runs the Kafka client natively (rdkafka) and exchanges JSON lines with this
child over the job's session pipes (``req["_session"]``: ``in`` from the
worker, ``out`` to it; see ``task_runner``), while the task's log goes to
fds 1 and 2 as for any task.

- ``kafka_produce_to_topic``: the pairs of ``producer_function`` go out as
  ``{"records": [[key, value], ...]}`` (each null or base64), at most 1000
  records or about 1 MiB per line and at most 4 lines not yet acknowledged;
  the worker answers each line with ``{"ack": n, "reports": [...]}`` (the
  reports when there is a ``delivery_callback``, called here per report).
- ``kafka_consume_from_topic`` / ``kafka_consume``: ``{"batch": [...],
  "want_results": bool}`` in, ``{"done": n, "results": [...]}`` out.
- ``kafka_await_message`` / ``kafka_await_message_trigger_function``:
  ``{"batch": [...]}`` in, ``{"done": n, "matches": [[i, event], ...]}`` out.
- ``{"end": true}`` ends a consuming task with success.

The user's functions are called as the Kafka provider calls them:
``partial(fn, *args, **kwargs)(message)``, i.e. ``fn(*args, message, **kwargs)``.
"""
import base64
import collections
import json
import os
import sys

from airflow._updraft.encode import encode
from airflow._updraft.extras import import_string
from airflow._updraft.kafka_message import KafkaError, Message

MAX_RECORDS = 1000
MAX_LINE_BYTES = 1 << 20
MAX_UNACKED = 4

PRODUCE_KINDS = ("kafka_produce_to_topic",)
CONSUME_KINDS = ("kafka_consume_from_topic", "kafka_consume")
AWAIT_KINDS = ("kafka_await_message", "kafka_await_message_trigger_function")


class SessionError(Exception):
    """The worker's side of the session said something unexpected, or went away."""


class Session:
    """The job's two pipes: JSON documents in from the worker, out to it."""

    def __init__(self, fds):
        self._in = os.fdopen(fds["in"], "rb", buffering=1 << 16)
        self._out = fds["out"]

    def send(self, doc):
        line = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        # Whatever the task printed before this line reaches the log first.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - closed by the task
                pass
        view = memoryview(line)
        while view:
            n = os.write(self._out, view)
            view = view[n:]

    def recv(self):
        line = self._in.readline()
        if not line:
            raise SessionError("the worker closed the task's Kafka session")
        try:
            msg = json.loads(line)
        except ValueError as e:
            raise SessionError(f"unreadable line from the worker: {e}") from None
        if not isinstance(msg, dict):
            raise SessionError(f"unexpected line from the worker: {line[:200]!r}")
        return msg


def execute(req, task, context):
    """Runs the task's side of the session to its end; returns None."""
    fds = req.get("_session")
    if not fds:
        raise SessionError("a Kafka task needs the runner's session pipes")
    session = Session(fds)
    kind = req["kind"]
    if kind in PRODUCE_KINDS:
        produce(task, session)
    elif kind in CONSUME_KINDS:
        consume(task, session)
    elif kind in AWAIT_KINDS:
        await_message(task, session, context, trigger=kind == "kafka_await_message_trigger_function")
    else:
        raise SessionError(f"operator kind {kind!r} has no Kafka session")
    return None


def resolve(fn, name):
    """A callable, or a dotted path imported as Airflow's ``import_string`` does."""
    if isinstance(fn, str):
        fn = import_string(fn)
    if not callable(fn):
        raise TypeError(f"{name} is not a callable, got {type(fn)} instead.")
    return fn


def _arguments(task, prefix):
    args = list(getattr(task, f"{prefix}_args", None) or ())
    kwargs = dict(getattr(task, f"{prefix}_kwargs", None) or {})
    return args, kwargs


def _b64(data):
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text):
    return None if text is None else base64.b64decode(text)


def to_bytes(x, what):
    """A key or value as confluent-kafka takes it: None, str (UTF-8) or bytes."""
    if x is None:
        return None
    if isinstance(x, str):
        return x.encode("utf-8")
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    raise TypeError(f"a Kafka message {what} must be str, bytes or None, not {type(x).__name__}")


def _pairs(produced):
    try:
        items = iter(produced)
    except TypeError:
        raise TypeError("producer_function must return or yield (key, value) pairs, "
                        f"but it returned {type(produced).__name__}") from None
    for item in items:
        try:
            key, value = item
        except (TypeError, ValueError):
            raise TypeError("producer_function must yield (key, value) pairs, "
                            f"but it yielded {type(item).__name__} {item!r:.200}") from None
        yield key, value


def produce(task, session):
    fn = resolve(task.producer_function, "producer_function")
    callback = getattr(task, "delivery_callback", None)
    callback = resolve(callback, "delivery_callback") if callback else None
    args, kwargs = _arguments(task, "producer_function")
    pending = collections.deque()  # record counts of the lines not yet acknowledged

    def acknowledge():
        msg = session.recv()
        if "ack" not in msg:
            raise SessionError(f"expected an acknowledgement from the worker, got {sorted(msg)}")
        expected = pending.popleft()
        if msg["ack"] != expected:
            raise SessionError(f"the worker acknowledged {msg['ack']} records of a batch of {expected}")
        for report in msg.get("reports") or []:
            if callback is not None:
                err = KafkaError(report["err"]) if report.get("err") is not None else None
                callback(err, Message(topic=report.get("topic"), partition=report.get("partition"),
                                      offset=report.get("offset"), key=_unb64(report.get("key")),
                                      value=_unb64(report.get("value")), error=err))

    def flush(records):
        while len(pending) >= MAX_UNACKED:
            acknowledge()
        session.send({"records": records})
        pending.append(len(records))

    records, size = [], 0
    for key, value in _pairs(fn(*args, **kwargs)):
        k, v = _b64(to_bytes(key, "key")), _b64(to_bytes(value, "value"))
        n = (len(k) if k else 4) + (len(v) if v else 4) + 8
        if records and (len(records) >= MAX_RECORDS or size + n > MAX_LINE_BYTES):
            flush(records)
            records, size = [], 0
        records.append([k, v])
        size += n
    if records:
        flush(records)
    while pending:
        acknowledge()


def message_of(d):
    """A Message from the worker's JSON: base64 key, value and header values."""
    headers = d.get("headers")
    if headers is not None:
        headers = [(name, _unb64(value)) for name, value in headers]
    return Message(topic=d.get("topic"), partition=d.get("partition"), offset=d.get("offset"),
                   key=_unb64(d.get("key")), value=_unb64(d.get("value")), headers=headers,
                   timestamp=tuple(d.get("timestamp") or (0, 0)))


def _batch(msg):
    if msg.get("end"):
        return None
    batch = msg.get("batch")
    if not isinstance(batch, list):
        raise SessionError(f"expected a batch of messages from the worker, got {sorted(msg)}")
    return [message_of(m) for m in batch]


def consume(task, session):
    single = getattr(task, "apply_function", None)
    whole = getattr(task, "apply_function_batch", None)
    if single and whole:
        raise TypeError("One of apply_function or apply_function_batch must be supplied, not both.")
    fn = resolve(single, "apply_function") if single else None
    batch_fn = resolve(whole, "apply_function_batch") if whole else None
    args, kwargs = _arguments(task, "apply_function")
    while True:
        msg = session.recv()
        messages = _batch(msg)
        if messages is None:
            return
        results = []
        if fn is not None:
            for m in messages:
                results.append(fn(*args, m, **kwargs))
        elif batch_fn is not None:
            results.append(batch_fn(*args, messages, **kwargs))
        want = bool(msg.get("want_results"))
        session.send({"done": len(messages),
                      "results": [encode(r) for r in results if r is not None] if want else []})


def await_message(task, session, context, trigger):
    fn = resolve(task.apply_function, "apply_function")
    on_event = task.event_triggered_function if trigger else None
    args, kwargs = _arguments(task, "apply_function")
    while True:
        messages = _batch(session.recv())
        if messages is None:
            return
        done, matches = 0, []
        for i, m in enumerate(messages):
            done = i + 1
            event = fn(*args, m, **kwargs)
            if not event:
                continue
            matches.append([i, encode(event)])
            if on_event is None:
                break
            on_event(event, **context)
        session.send({"done": done, "matches": matches})
