"""Kafka provider: AwaitMessageSensor and AwaitMessageTriggerFunctionSensor."""
from airflow._updraft.kafka import AwaitMessageSensor, AwaitMessageTriggerFunctionSensor  # noqa: F401
