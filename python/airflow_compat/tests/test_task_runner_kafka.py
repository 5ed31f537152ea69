"""Kafka session jobs of the task runner, end to end through ``serve`` in a
subprocess: the producer's batches and flow control, key/value encoding,
delivery callbacks, consuming with apply_function(_batch), awaiting a
message, and a runner that stays responsive whatever a session's child does."""
import base64
import json
import os
import select
import subprocess
import sys
import time
import unittest

from tests.helpers import COMPAT_DIR, DagFileTest

from airflow._updraft.kafka_message import KafkaError, Message

HELPERS = """
SEEN = []

def pairs(n, prefix="k"):
    for i in range(n):
        yield (f"{prefix}{i}", f"v{i}")

def report(err, msg):
    print("report", err, msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(), msg.error())

def match_big(factor, message, minimum=0):
    value = int(message.value())
    return {"v": value * factor} if value >= minimum else None
"""

DAG = """
import time
from datetime import datetime
from airflow import DAG
from airflow.decorators import task
from airflow.providers.apache.kafka.operators.produce import ProduceToTopicOperator
from airflow.providers.apache.kafka.operators.consume import ConsumeFromTopicOperator
from airflow.providers.apache.kafka.sensors.kafka import AwaitMessageSensor, AwaitMessageTriggerFunctionSensor

def many(n):
    for i in range(n):
        yield (f"k{i}", f"v{i}")

def mixed():
    return [("text", "värde"), (b"\\x00\\xff", None), (None, bytearray(b"ab"))]

def bad_type():
    return [("k", 5)]

def not_pairs():
    return [("a", "b", "c")]

def per_message(prefix, message, suffix=""):
    print("got", message.topic(), message.offset(), message.key(), message.value(), message.headers(),
          message.timestamp(), len(message))
    if message.value() == b"skip":
        return None
    return prefix + message.value().decode() + suffix

def whole_batch(messages, scale=1):
    return [m.offset() * scale for m in messages]

def slow(message):
    print("sleeping", flush=True)
    time.sleep(60)

def on_event(event, **context):
    print("event", event, context["ti"].task_id)

with DAG(dag_id="k", schedule=None, start_date=datetime(2026, 1, 1)):
    ProduceToTopicOperator(task_id="produce", topic="t", producer_function=many,
                           producer_function_args=["{{ params.n }}"])
    ProduceToTopicOperator(task_id="mixed", topic="t", producer_function=mixed)
    ProduceToTopicOperator(task_id="bad_type", topic="t", producer_function=bad_type)
    ProduceToTopicOperator(task_id="not_pairs", topic="t", producer_function=not_pairs)
    ProduceToTopicOperator(task_id="dotted", topic="t", producer_function="kafka_helpers.pairs",
                           producer_function_kwargs={"n": 3, "prefix": "p"},
                           delivery_callback="kafka_helpers.report")
    ConsumeFromTopicOperator(task_id="consume", topics=["t"], apply_function=per_message,
                             apply_function_args=["<"], apply_function_kwargs={"suffix": ">"})
    ConsumeFromTopicOperator(task_id="consume_batch", topics=["t"], apply_function_batch=whole_batch,
                             apply_function_kwargs={"scale": 10})
    ConsumeFromTopicOperator(task_id="consume_slow", topics=["t"], apply_function=slow)
    AwaitMessageSensor(task_id="await", topics=["t"], apply_function="kafka_helpers.match_big",
                       apply_function_args=[2], apply_function_kwargs={"minimum": 5})
    AwaitMessageTriggerFunctionSensor(task_id="await_all", topics=["t"], apply_function="kafka_helpers.match_big",
                                      apply_function_args=[1], apply_function_kwargs={"minimum": 5},
                                      event_triggered_function=on_event)

    @task
    def plain():
        return 42

    @task
    def hang():
        time.sleep(60)

    plain()
    hang()
"""


def b64(data):
    return base64.b64encode(data).decode()


def message(offset, value, key=None, headers=None):
    return {"topic": "t", "partition": 0, "offset": offset, "key": key and b64(key),
            "value": value and b64(value), "headers": headers, "timestamp": [1, 1700000000000 + offset]}


class MessageTest(unittest.TestCase):
    # Message offers confluent_kafka.Message's read API.
    def test_read_api(self):
        m = Message(topic="t", partition=1, offset=7, key=b"k", value=b"abc", headers=[("h", b"x")],
                    timestamp=(1, 5))
        self.assertEqual((m.topic(), m.partition(), m.offset(), m.key(), m.value()), ("t", 1, 7, b"k", b"abc"))
        self.assertEqual((m.headers(), m.timestamp(), m.error(), m.latency(), m.leader_epoch()),
                         ([("h", b"x")], (1, 5), None, None, None))
        self.assertEqual((m.len(), len(m), len(Message(value=None))), (3, 3, 0))
        self.assertIn("offset=7", repr(m))
        self.assertEqual(str(KafkaError("Broker: boom")), "Broker: boom")


class KafkaSessionTest(DagFileTest):
    def setUp(self):
        super().setUp()
        self.write("kafka_helpers.py", HELPERS)
        self.path = self.write("k.py", DAG)
        env = dict(os.environ, PYTHONPATH=COMPAT_DIR)
        self.proc = subprocess.Popen([sys.executable, "-m", "updraft_runtime.task_runner"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, cwd="/")
        self.addCleanup(self._stop)
        self.next_id = 0
        self.buf = b""
        self.pending = []  # lines read for other jobs, kept for later

    def _stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=20)
        self.proc.stdout.close()

    def start(self, task_id, kind, mode="kafka", **extra):
        self.next_id += 1
        req = {"fileloc": self.path, "dags_folder": self.folder, "dag_id": "k", "task_id": task_id,
               "run_id": "r", "kind": kind, "mode": mode,
               "context": {"logical_date": "2026-03-04T00:00:00+00:00"}, **extra}
        self.command({"op": "run", "id": self.next_id, "task": req})
        return self.next_id

    def command(self, msg):
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()

    def feed(self, job, data):
        self.command({"op": "feed", "id": job, "data": data})

    def next_msg(self, job, until=30.0, raw=False):
        """The next line for ``job`` (None when ``until`` passes first)."""
        for i, (job_id, line) in enumerate(self.pending):
            if job_id == job:
                del self.pending[i]
                return line if raw else json.loads(line)
        deadline = time.monotonic() + until
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                job_id = json.loads(line)["id"]
                if job_id == job:
                    return line if raw else json.loads(line)
                self.pending.append((job_id, line))
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                self.buf += os.read(fd, 1 << 20)

    def data(self, job):
        """The next data line of ``job``, skipping its log lines (kept in self.logs)."""
        while True:
            msg = self.next_msg(job)
            self.assertIsNotNone(msg, "no data line in time")
            if "log" in msg:
                self.logs.append(msg["log"])
                continue
            self.assertNotIn("result", msg, msg)
            return msg["data"]

    def result(self, job):
        while True:
            msg = self.next_msg(job)
            self.assertIsNotNone(msg, "no result in time")
            if "log" in msg:
                self.logs.append(msg["log"])
            self.assertNotIn("data", msg, msg)
            if "result" in msg:
                return msg["result"]

    logs = None

    def run(self, result=None):
        self.logs = []
        return super().run(result)

    # 2,500 pairs make three record lines of at most 1000; the task ends only
    # once every line is acknowledged.
    def test_producer_batches_wait_for_acks(self):
        job = self.start("produce", "kafka_produce_to_topic", rendered={"producer_function_args": [2500]})
        batches = [self.data(job) for _ in range(3)]
        self.assertEqual([len(b["records"]) for b in batches], [1000, 1000, 500])
        self.assertEqual(batches[0]["records"][0], [b64(b"k0"), b64(b"v0")])
        self.assertEqual(batches[2]["records"][-1], [b64(b"k2499"), b64(b"v2499")])
        self.assertIsNone(self.next_msg(job, until=0.5))  # waiting for the acks
        for b in batches:
            self.feed(job, {"ack": len(b["records"])})
        result = self.result(job)
        self.assertEqual(result["state"], "success", result)
        self.assertEqual((result["xcoms"], result["returned"]), ([], None))

    # At most 4 lines are unacknowledged: the fifth waits for an ack.
    def test_producer_window_of_four(self):
        job = self.start("produce", "kafka_produce_to_topic", rendered={"producer_function_args": [5500]})
        first = [self.data(job) for _ in range(4)]
        self.assertIsNone(self.next_msg(job, until=0.5))
        self.feed(job, {"ack": 1000})
        fifth = self.data(job)
        self.feed(job, {"ack": 1000})
        sixth = self.data(job)
        self.assertEqual([len(b["records"]) for b in first + [fifth, sixth]], [1000] * 5 + [500])
        for n in (1000, 1000, 1000, 500):
            self.feed(job, {"ack": n})
        self.assertEqual(self.result(job)["state"], "success")

    def test_keys_and_values_encode_as_confluent_takes_them(self):
        job = self.start("mixed", "kafka_produce_to_topic")
        records = self.data(job)["records"]
        self.assertEqual(records, [[b64(b"text"), b64("värde".encode())], [b64(b"\x00\xff"), None],
                                   [None, b64(b"ab")]])
        self.feed(job, {"ack": 3})
        self.assertEqual(self.result(job)["state"], "success")

    def test_a_bad_value_type_fails_clearly(self):
        result = self.result(self.start("bad_type", "kafka_produce_to_topic"))
        self.assertEqual(result["state"], "failed")
        self.assertIn("TypeError", result["message"])
        self.assertIn("must be str, bytes or None, not int", result["message"])

    def test_a_non_pair_fails_clearly(self):
        result = self.result(self.start("not_pairs", "kafka_produce_to_topic"))
        self.assertEqual(result["state"], "failed")
        self.assertIn("(key, value) pairs", result["message"])

    # A dotted-path producer and delivery_callback; the callback sees each report.
    def test_dotted_producer_and_delivery_callback(self):
        job = self.start("dotted", "kafka_produce_to_topic")
        records = self.data(job)["records"]
        self.assertEqual([base64.b64decode(k) for k, _ in records], [b"p0", b"p1", b"p2"])
        reports = [{"err": None, "topic": "t", "partition": 0, "offset": 10 + i, "key": k, "value": v}
                   for i, (k, v) in enumerate(records)]
        reports[2]["err"] = "Broker: Message size too large"
        self.feed(job, {"ack": 3, "reports": reports})
        self.assertEqual(self.result(job)["state"], "success")
        got = [line for line in self.logs if line.startswith("report")]
        self.assertEqual(got, ["report None t 0 10 b'p0' b'v0' None", "report None t 0 11 b'p1' b'v1' None",
                               "report Broker: Message size too large t 0 12 b'p2' b'v2' "
                               "Broker: Message size too large"])

    # apply_function(*args, message, **kwargs) per message, as the provider's
    # partial() calls it; non-None results only, and only when wanted.
    def test_consume_per_message(self):
        job = self.start("consume", "kafka_consume_from_topic")
        self.feed(job, {"batch": [message(0, b"a", key=b"k", headers=[["h", b64(b"x")], ["n", None]]),
                                  message(1, b"skip"), message(2, b"c")], "want_results": True})
        self.assertEqual(self.data(job), {"done": 3, "results": ["<a>", "<c>"]})
        self.feed(job, {"batch": [message(3, b"d")], "want_results": False})
        self.assertEqual(self.data(job), {"done": 1, "results": []})
        self.feed(job, {"end": True})
        self.assertEqual(self.result(job)["state"], "success")
        self.assertIn("got t 0 b'k' b'a' [('h', b'x'), ('n', None)] (1, 1700000000000) 1", self.logs)

    def test_consume_batch(self):
        job = self.start("consume_batch", "kafka_consume_from_topic")
        self.feed(job, {"batch": [message(4, b"a"), message(5, b"b")], "want_results": True})
        self.assertEqual(self.data(job), {"done": 2, "results": [[40, 50]]})
        self.feed(job, {"end": True})
        self.assertEqual(self.result(job)["state"], "success")

    # An exception in the apply function fails the task (the worker then does not commit).
    def test_consume_failure_fails_the_task(self):
        job = self.start("consume", "kafka_consume_from_topic")
        self.feed(job, {"batch": [message(0, None)], "want_results": True})
        result = self.result(job)
        self.assertEqual(result["state"], "failed")
        self.assertIn("AttributeError", result["message"])
        self.assertTrue(any("Traceback" in line for line in self.logs))

    # AwaitMessageSensor stops at the first match; the trigger-function
    # variant calls event_triggered_function per match and goes on.
    def test_await_first_match(self):
        job = self.start("await", "kafka_await_message")
        self.feed(job, {"batch": [message(0, b"1"), message(1, b"2")]})
        self.assertEqual(self.data(job), {"done": 2, "matches": []})
        self.feed(job, {"batch": [message(2, b"3"), message(3, b"6"), message(4, b"7")]})
        self.assertEqual(self.data(job), {"done": 2, "matches": [[1, {"v": 12}]]})
        self.feed(job, {"end": True})
        self.assertEqual(self.result(job)["state"], "success")

    def test_await_trigger_function_sees_every_match(self):
        job = self.start("await_all", "kafka_await_message_trigger_function")
        self.feed(job, {"batch": [message(0, b"6"), message(1, b"1"), message(2, b"9")]})
        self.assertEqual(self.data(job), {"done": 3, "matches": [[0, {"v": 6}], [2, {"v": 9}]]})
        self.feed(job, {"end": True})
        self.assertEqual(self.result(job)["state"], "success")
        self.assertEqual([line for line in self.logs if line.startswith("event")],
                         ["event {'v': 6} await_all", "event {'v': 9} await_all"])

    # Data lines are relayed byte for byte, and after the log lines printed before them.
    def test_data_lines_are_relayed_verbatim_after_earlier_logs(self):
        job = self.start("consume", "kafka_consume_from_topic")
        self.feed(job, {"batch": [message(0, b"a")], "want_results": True})
        first = self.next_msg(job)
        self.assertIn("got t 0", first.get("log", ""))
        raw = self.next_msg(job, raw=True)
        self.assertEqual(raw, b'{"id": %d, "data": {"done":1,"results":["<a>"]}}' % job)
        self.feed(job, {"end": True})
        self.assertEqual(self.result(job)["state"], "success")

    # Feeding a job that has ended (or never was) changes nothing.
    def test_feed_to_a_gone_job_is_ignored(self):
        job = self.start("mixed", "kafka_produce_to_topic")
        self.data(job)
        self.command({"op": "cancel", "id": job})
        self.assertEqual(self.result(job)["state"], "failed")
        self.feed(job, {"ack": 3})
        self.feed(999, {"ack": 3})
        plain = self.start("plain", "python", mode="execute")
        self.assertEqual(self.result(plain)["returned"], 42)
        self.assertIsNone(self.next_msg(job, until=0.3))

    # A child that stops reading its input does not block the runner: the
    # megabytes fed to it wait in the runner while other jobs go on.
    def test_a_child_that_does_not_read_does_not_block_the_runner(self):
        stuck = self.start("consume_slow", "kafka_consume_from_topic")
        self.feed(stuck, {"batch": [message(0, b"a")], "want_results": False})
        while self.next_msg(stuck).get("log") != "sleeping":
            pass
        big = {"batch": [message(i, b"x" * 1000) for i in range(200)], "want_results": False}
        for _ in range(30):
            self.feed(stuck, big)  # ~8 MiB: far more than a pipe holds
        started = time.monotonic()
        reader = self.start("consume", "kafka_consume_from_topic")
        self.feed(reader, {"batch": [message(0, b"z")], "want_results": True})
        self.assertEqual(self.data(reader), {"done": 1, "results": ["<z>"]})
        plain = self.start("plain", "python", mode="execute")
        self.assertEqual(self.result(plain)["returned"], 42)
        self.assertLess(time.monotonic() - started, 10)
        self.command({"op": "cancel", "id": stuck})
        self.assertEqual(self.result(stuck)["state"], "failed")
        self.feed(reader, {"end": True})
        self.assertEqual(self.result(reader)["state"], "success")


if __name__ == "__main__":
    unittest.main()


class FeedRelayTest(unittest.TestCase):
    """The runner relays the worker's feed lines without decoding them."""

    class Job:
        def __init__(self):
            self.raw, self.decoded = [], []

        def feed_raw(self, doc):
            self.raw.append(doc)

        def feed(self, data):
            self.decoded.append(data)

    def test_worker_shaped_lines_are_relayed_verbatim(self):
        from updraft_runtime import task_runner

        job = self.Job()
        line = b'{"op":"feed","id":7,"data":{"batch":[{"value":"eA=="}],"want_results":false}}'
        self.assertTrue(task_runner._feed_fast(line, {7: job}))
        self.assertEqual(job.raw, [b'{"batch":[{"value":"eA=="}],"want_results":false}'])
        # A job that is gone: relayed nowhere, still handled.
        self.assertTrue(task_runner._feed_fast(line, {}))

    def test_other_shapes_take_the_slow_path(self):
        from updraft_runtime import task_runner

        job = self.Job()
        for line in (b'{"op": "feed", "id": 7, "data": {}}', b'{"op":"feed","id":x,"data":{}}',
                     b'{"op":"cancel","id":7}', b'{"op":"feed","id":7}'):
            self.assertFalse(task_runner._feed_fast(line, {7: job}), line)
        jobs = {7: job}
        task_runner._handle(b'{"op": "feed", "id": 7, "data": {"end": true}}', jobs, (), lambda m: None)
        self.assertEqual(job.decoded, [{"end": True}])
