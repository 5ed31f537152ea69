"""The Kafka message handed to a Kafka task's Python functions
(``apply_function``, ``delivery_callback``...): the read API of
``confluent_kafka.Message``, built from what the worker's native (rdkafka)
client consumed or delivered. No ``confluent_kafka`` module is provided.
"""

TIMESTAMP_NOT_AVAILABLE = 0
TIMESTAMP_CREATE_TIME = 1
TIMESTAMP_LOG_APPEND_TIME = 2


class KafkaError:
    """What a failed delivery reports: ``str()`` is librdkafka's text."""

    def __init__(self, text, code=None, name=None):
        self._text = text
        self._code = code
        self._name = name

    def str(self):
        return self._text

    def code(self):
        return self._code

    def name(self):
        return self._name

    def fatal(self):
        return False

    def retriable(self):
        return False

    def __str__(self):
        return self._text

    def __repr__(self):
        return f"KafkaError({self._text!r})"

    def __eq__(self, other):
        return isinstance(other, KafkaError) and other._text == self._text

    __hash__ = None


class Message:
    """One Kafka record: ``value()``, ``key()`` (bytes or None), ``topic()``,
    ``partition()``, ``offset()``, ``headers()`` (list of ``(str, bytes)`` or
    None), ``timestamp()`` (``(type, ms)``), ``error()``, ``len()``."""

    __slots__ = ("_topic", "_partition", "_offset", "_key", "_value", "_headers", "_timestamp", "_error")

    def __init__(self, topic=None, partition=None, offset=None, key=None, value=None, headers=None,
                 timestamp=(TIMESTAMP_NOT_AVAILABLE, 0), error=None):
        self._topic = topic
        self._partition = partition
        self._offset = offset
        self._key = key
        self._value = value
        self._headers = headers
        self._timestamp = tuple(timestamp)
        self._error = error

    def topic(self):
        return self._topic

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def key(self):
        return self._key

    def value(self):
        return self._value

    def headers(self):
        return self._headers

    def timestamp(self):
        return self._timestamp

    def error(self):
        return self._error

    def latency(self):
        return None

    def leader_epoch(self):
        return None

    def len(self):
        return len(self._value) if self._value is not None else 0

    def __len__(self):
        return self.len()

    def set_key(self, key):
        self._key = key

    def set_value(self, value):
        self._value = value

    def set_headers(self, headers):
        self._headers = headers

    def __repr__(self):
        return (f"Message(topic={self._topic!r}, partition={self._partition!r}, offset={self._offset!r}, "
                f"key={self._key!r}, value={self._value!r})")
