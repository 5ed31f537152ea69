"""Kafka producer / consumer callables referenced by dotted path from the Kafka example DAGs.

Pure functions: they only build or inspect messages, the provider does the I/O.
"""
from __future__ import annotations

import json


def produce_order_events(count: int = 3, source: str = "shop"):
    """Yield (key, value) pairs for ProduceToTopicOperator."""
    for i in range(count):
        yield (f"order-{i}", json.dumps({"order_id": i, "source": source}))


def print_order(message):
    """apply_function for ConsumeFromTopicOperator: one call per message."""
    value = message.value() if hasattr(message, "value") else message
    print("consumed", value)
    return value


def await_order_shipped(message, order_id: str = "order-0"):
    """apply_function for AwaitMessageSensor: a truthy return ends the wait."""
    key = message.key() if hasattr(message, "key") else None
    if key is not None and key.decode() == order_id:
        return message.value().decode()
    return None
